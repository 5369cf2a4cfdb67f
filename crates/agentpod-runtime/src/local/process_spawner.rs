//! Spawning server processes that die with us.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process.
//! Tokio's blocking threads and each test's thread come and go, so servers are forked from one
//! thread that lives as long as the process; the signal then means exactly "agentpod is gone".

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use nix::sys::signal::Signal;

struct SpawnRequest {
    command: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Mutex<Option<mpsc::Sender<SpawnRequest>>>> = OnceLock::new();

/// Spawns `command` so that the child gets `death_signal` when this process exits.
pub(crate) fn spawn_tied_to_process(
    mut command: Command,
    death_signal: Signal,
) -> io::Result<Child> {
    // SAFETY: prctl is async-signal-safe and the closure allocates nothing. It runs after any
    // earlier pre_exec hook, so after a setuid that would otherwise clear the setting.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(death_signal).map_err(io::Error::from)
        });
    }
    let sender = spawner()?;
    let (reply, answer) = mpsc::channel();
    sender
        .send(SpawnRequest { command, reply })
        .map_err(|_| io::Error::other("the process spawner thread has stopped"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the process spawner thread has stopped"))?
}

fn spawner() -> io::Result<mpsc::Sender<SpawnRequest>> {
    let slot = SPAWNER.get_or_init(|| Mutex::new(None));
    let mut guard = slot
        .lock()
        .map_err(|_| io::Error::other("the process spawner lock is poisoned"))?;
    if let Some(sender) = guard.as_ref() {
        return Ok(sender.clone());
    }
    let (sender, requests) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new()
        .name("agentpod-spawner".to_string())
        .spawn(move || {
            for mut request in requests {
                let _ = request.reply.send(request.command.spawn());
            }
        })?;
    *guard = Some(sender.clone());
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_children_run_and_can_be_waited_for_from_other_threads() {
        let mut command = Command::new("sh");
        command.args(["-c", "exit 7"]);
        let mut child = spawn_tied_to_process(command, Signal::SIGKILL).expect("spawn sh");
        let status = std::thread::spawn(move || child.wait())
            .join()
            .expect("join waiter")
            .expect("wait for sh");
        assert_eq!(status.code(), Some(7));
    }
}
