//! Who owns a pod: this process on this host, and whether some other owner is still alive.

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// The process that created a resource, identified the way the labels and markers record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) pid: u32,
    pub(crate) host: String,
}

impl Owner {
    pub(crate) fn current() -> Self {
        Self {
            pid: std::process::id(),
            host: current_host(),
        }
    }
}

pub(crate) fn current_host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Whether `pid` names a live process on this host. A zombie counts as dead: it will never
/// clean up after itself.
pub(crate) fn process_is_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    match kill(Pid::from_raw(raw), None) {
        // EPERM: it exists but belongs to someone else.
        Ok(()) | Err(Errno::EPERM) => !is_zombie(pid),
        Err(_) => false,
    }
}

fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name in parentheses may itself contain spaces or parentheses.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        assert!(process_is_alive(std::process::id()));
    }

    #[test]
    fn an_exited_and_reaped_child_is_dead() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait for true");
        assert!(!process_is_alive(pid));
    }

    #[test]
    fn an_unreaped_child_is_dead() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_zombie(pid) {
            assert!(std::time::Instant::now() < deadline, "child never exited");
            std::thread::yield_now();
        }
        assert!(!process_is_alive(pid));
        child.wait().expect("reap true");
    }

    #[test]
    fn impossible_pids_are_dead() {
        assert!(!process_is_alive(0));
        assert!(!process_is_alive(u32::MAX));
    }
}
