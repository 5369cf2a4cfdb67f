//! Ctrl-C as a state machine: the first SIGINT (or SIGTERM, as CI sends) drains the run, the
//! second forces it.

use agentpod_runner::Interrupt;
use tokio::signal::unix::{SignalKind, signal};

/// Listens for SIGINT and SIGTERM until the process ends, driving `interrupt`.
pub(crate) fn listen(interrupt: Interrupt) {
    tokio::spawn(async move {
        let (Ok(mut interrupts), Ok(mut terminates)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("cannot listen for signals; Ctrl-C will stop agentpod without cleanup");
            return;
        };
        let mut received = 0;
        loop {
            tokio::select! {
                _ = interrupts.recv() => {}
                _ = terminates.recv() => {}
            }
            received += 1;
            if received == 1 {
                eprintln!(
                    "interrupted: stopping agents, keeping results, removing pods (Ctrl-C again to stop now)"
                );
                interrupt.drain();
            } else {
                eprintln!("interrupted again: stopping now");
                interrupt.force();
            }
        }
    });
}
