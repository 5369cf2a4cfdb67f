//! Logs with tracing to stderr; `RUST_LOG` wins over `-v`.

use tracing_subscriber::EnvFilter;

pub(crate) fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // sqlx's own logs are for its developers: Postgres notices (`WARNING: PID 23 is not a
    // PostgreSQL backend process` when a session ends as it is terminated) and the pool's checks
    // of connections the server closed at an issue's end. Shown from -vv only.
    let notices = if verbose >= 2 { "" } else { ",sqlx=error" };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default}{notices}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .with_target(false)
        .try_init();
}
