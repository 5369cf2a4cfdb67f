//! `agentpod view`: serves the run store's pages (`agentpod-view`) on 127.0.0.1 until Ctrl-C,
//! prints the address, and opens a browser on it when asked to and there is a desktop to show
//! one.

use std::sync::Arc;

use agentpod_view::StoreSource;

use crate::cli::{GlobalOptions, ViewArgs};
use crate::commands::runs::open_existing_store;
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn view(global: &GlobalOptions, args: ViewArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    // Loopback only: the pages show what agents wrote and what issues hold.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|error| {
            Failure::from_error(
                Exit::Setup,
                &format!(
                    "cannot listen on 127.0.0.1:{} (pass another --port, or --port 0 for any free one)",
                    args.port
                ),
                &error,
            )
        })?;
    let port = listener
        .local_addr()
        .map_err(|error| Failure::from_error(Exit::Setup, "cannot read the bound port", &error))?
        .port();
    // Only the user sees it: agents on this machine share its loopback.
    let token = agentpod_view::new_access_token();
    let url = format!("http://127.0.0.1:{port}/runs?token={token}");
    println!("agentpod view: {url} (Ctrl-C stops it)");
    if !args.no_open {
        open_browser(&url);
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    agentpod_view::serve(
        listener,
        Arc::new(StoreSource::new(store)),
        &token,
        shutdown,
    )
    .await
    .map_err(|error| Failure::from_error(Exit::Setup, "the viewer stopped", &error))?;
    Ok(Exit::Success)
}

/// Opens `url` in the desktop's browser when there is a desktop (a display on Linux) and an
/// opener; otherwise the printed address is all.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return;
    };
    let started = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        // Reaped on its own thread: the opener returns once the browser has the address.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(error) => tracing::debug!(%error, opener, "no browser opened"),
    }
}
