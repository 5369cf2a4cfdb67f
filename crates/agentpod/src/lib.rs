//! The agentpod command line: arguments, progress display, exit codes. Everything else lives in
//! the library crates; this crate is the only one that knows about terminals.

mod cli;
mod commands;
mod exit_code;
mod failure;
mod logging;
mod progress;
mod signals;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use exit_code::Exit;

/// Parses `args` and runs the command; what `main` calls.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => {
            if cli.command.only_prints() {
                restore_default_sigpipe();
            }
            cli
        }
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::InvalidInput.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    logging::init(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return Exit::Internal.into();
        }
    };
    let exit = runtime.block_on(commands::dispatch(cli));
    // Pods removed by Drop fallbacks run on their own threads; give the runtime a moment to
    // finish anything it was still doing, but never hang on exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    exit.into()
}

/// Rust ignores SIGPIPE, so `agentpod show latest | head` would panic on the closed pipe; the
/// default action ends the process quietly, as other command-line tools do. Only for commands
/// that read and print: a command that starts pods, agents or servers writes to pipes an agent's
/// sandbox may close at any moment (its start line), and must see EPIPE there, not die of it
/// with its pods and mounts left behind.
fn restore_default_sigpipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: installs the default handler; no Rust code runs in a signal handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}
