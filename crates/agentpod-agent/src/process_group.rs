//! The agent's process group: everything the agent started, signalled as one.

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The process group the agent leads (it is started with `process_group(0)`).
///
/// Dropping it while still held kills the whole group, so that an abandoned run (its future
/// dropped mid-flight) leaves nothing behind.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    id: Option<Pid>,
}

impl ProcessGroup {
    /// `None` (an already reaped leader) gives a group that is never signalled.
    pub(crate) fn led_by(leader_process_id: Option<u32>) -> ProcessGroup {
        // Group id 0 would mean our own group to killpg: never let it through.
        let id = leader_process_id
            .and_then(|id| i32::try_from(id).ok())
            .filter(|id| *id > 0)
            .map(Pid::from_raw);
        ProcessGroup { id }
    }

    /// Sends `signal` to every process in the group; a group that is already gone is fine.
    pub(crate) fn signal(&self, signal: Signal) {
        let Some(id) = self.id else { return };
        match killpg(id, signal) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(error) => {
                tracing::warn!(group = id.as_raw(), ?signal, %error, "cannot signal agent process group")
            }
        }
    }

    /// Lets go of the group id without signalling it: another holder watches the group now.
    pub(crate) fn forget(mut self) {
        self.id = None;
    }

    /// Kills whatever the agent left running and lets go of the group id, which the system may
    /// reuse once the group is empty.
    pub(crate) fn kill_and_release(mut self) {
        self.signal(Signal::SIGKILL);
        self.id = None;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}
