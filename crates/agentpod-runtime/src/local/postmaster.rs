//! Stopping a local postmaster: immediate shutdown (SIGQUIT), SIGKILL if it does not go.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::RuntimeError;
use crate::owner::process_is_alive;

/// SIGQUIT is Postgres' immediate shutdown: the postmaster takes its backends down and frees its
/// shared memory, which SIGKILL would leak.
pub(crate) const SHUTDOWN_SIGNAL: Signal = Signal::SIGQUIT;
const GRACE: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// A fast shutdown of a freshly seeded server writes one checkpoint.
const CLEAN_STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Stops our own child postmaster and reaps it.
pub(crate) fn stop_child(child: &mut Child, data_dir: &Path) -> Result<(), RuntimeError> {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return Ok(());
    }
    let pid = child.id();
    signal(pid, SHUTDOWN_SIGNAL, data_dir)?;
    if wait_for(|| matches!(child.try_wait(), Ok(Some(_)) | Err(_))) {
        return Ok(());
    }
    signal(pid, Signal::SIGKILL, data_dir)?;
    child
        .wait()
        .map(|_| ())
        .map_err(|source| RuntimeError::io("wait for the postmaster of", data_dir, source))
}

/// Stops our own child postmaster with a fast shutdown (SIGINT: a checkpoint, then a clean exit),
/// for a cluster to be kept. `Err` says why the cluster may not be consistent.
pub(crate) fn stop_child_cleanly(child: &mut Child, data_dir: &Path) -> Result<(), String> {
    if let Ok(Some(status)) = child.try_wait() {
        return Err(format!("the server had already exited ({status})"));
    }
    signal(child.id(), Signal::SIGINT, data_dir).map_err(|error| error.to_string())?;
    let deadline = Instant::now() + CLEAN_STOP_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("the server did not stop cleanly ({status})")),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
            Ok(None) => {
                let _ = stop_child(child, data_dir);
                return Err(format!(
                    "the server did not stop within {} s",
                    CLEAN_STOP_TIMEOUT.as_secs()
                ));
            }
            Err(error) => return Err(format!("cannot wait for the server: {error}")),
        }
    }
}

/// Stops a postmaster that is not our child (its owner died), after checking that `pid` really
/// is the server of `data_dir`: pids get reused.
pub(crate) fn stop_orphan(pid: u32, data_dir: &Path) -> Result<bool, RuntimeError> {
    if !process_is_alive(pid) || !serves(pid, data_dir) {
        return Ok(false);
    }
    signal(pid, SHUTDOWN_SIGNAL, data_dir)?;
    if !wait_for(|| !process_is_alive(pid)) {
        signal(pid, Signal::SIGKILL, data_dir)?;
        wait_for(|| !process_is_alive(pid));
    }
    Ok(true)
}

/// Kills the process group led by `leader` (initdb and the bootstrap backend it runs) and waits
/// until none of them is left to write into a directory about to be removed.
pub(crate) fn kill_process_group(leader: &mut Child) {
    let Ok(raw) = i32::try_from(leader.id()) else {
        return;
    };
    let group = Pid::from_raw(raw);
    let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
    let _ = leader.wait();
    wait_for(|| matches!(nix::sys::signal::killpg(group, None), Err(Errno::ESRCH)));
}

/// Whether `pid`'s command line names `data_dir`: every postmaster we start gets `-D <dir>`.
pub(crate) fn serves(pid: u32, data_dir: &Path) -> bool {
    let Ok(command_line) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let wanted = data_dir.as_os_str().as_encoded_bytes();
    command_line
        .split(|byte| *byte == 0)
        .any(|argument| argument == wanted)
}

/// The pid from `postmaster.pid`, which Postgres writes itself once it runs.
pub(crate) fn pid_from_lock_file(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn signal(pid: u32, signal: Signal, data_dir: &Path) -> Result<(), RuntimeError> {
    let raw = i32::try_from(pid).map_err(|_| RuntimeError::Signal {
        pid,
        path: data_dir.to_path_buf(),
        source: Errno::EINVAL,
    })?;
    match kill(Pid::from_raw(raw), signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(source) => Err(RuntimeError::Signal {
            pid,
            path: data_dir.to_path_buf(),
            source,
        }),
    }
}

fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + GRACE;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell that, like postgres, reacts to SIGQUIT even when started from a background job
    /// (which ignores SIGQUIT and passes that on).
    fn spawn_shell(arguments: &[&std::ffi::OsStr]) -> Child {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new("sh");
        command
            .args(["-c", "while :; do sleep 1; done", "sh"])
            .args(arguments);
        // SAFETY: signal() with SIG_DFL is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                nix::sys::signal::signal(Signal::SIGQUIT, nix::sys::signal::SigHandler::SigDfl)
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        let child = command.spawn().expect("spawn sh");
        // Right after a vfork-style spawn the kernel may not have filled in the new command line.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read(format!("/proc/{}/cmdline", child.id()))
            .map_or(true, |line| line.is_empty())
        {
            assert!(
                Instant::now() < deadline,
                "sh never showed its command line"
            );
            std::thread::yield_now();
        }
        child
    }

    #[test]
    fn a_process_serves_a_directory_only_if_its_arguments_name_it() {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut child = spawn_shell(&[directory.path().as_os_str()]);
        let serves_directory = serves(child.id(), directory.path());
        let serves_other = serves(child.id(), &directory.path().join("other"));
        let started = Instant::now();
        let stopped = stop_child(&mut child, directory.path());
        let _ = child.kill();
        let _ = child.wait();
        assert!(serves_directory);
        assert!(!serves_other);
        assert!(stopped.is_ok(), "{stopped:?}");
        assert!(
            started.elapsed() < GRACE,
            "SIGQUIT alone should have stopped it"
        );
        assert!(!process_is_alive(child.id()));
    }

    #[test]
    fn orphans_that_do_not_serve_the_directory_are_left_alone() {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut child = spawn_shell(&[]);
        let stopped = stop_orphan(child.id(), directory.path());
        let alive = process_is_alive(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(stopped.ok(), Some(false));
        assert!(alive);
    }

    #[test]
    fn the_lock_file_gives_the_pid() {
        let directory = tempfile::tempdir().expect("temp dir");
        assert_eq!(pid_from_lock_file(directory.path()), None);
        std::fs::write(directory.path().join("postmaster.pid"), "1234\n/data\n").expect("write");
        assert_eq!(pid_from_lock_file(directory.path()), Some(1234));
    }
}
