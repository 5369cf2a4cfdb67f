//! `AgentCgroup`: the control group a sandboxed host agent runs in, which bounds its memory
//! (page cache and its tmpfs pages included) and its CPU time the way a container's limits do.
//! The agent's process joins it before it executes (so everything it starts is in it too), and
//! the group is removed once the agent's processes are gone.
//!
//! Control groups need root: elsewhere the agent runs without these bounds, said once in the
//! log (its process count is still capped, and everything it starts still dies with it). Both
//! layouts are handled: the unified hierarchy (v2) and the per-controller one (v1, `memory` and
//! `cpu`). The groups live under `agentpod/` and are named `<agentpod's pid>-<random>`, so `gc`
//! can remove what a killed run left.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::RngExt;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const PARENT: &str = "agentpod";
/// The CPU bandwidth period, in microseconds: the kernel's default.
const CPU_PERIOD_MICROSECONDS: u64 = 100_000;
/// How long the group may take to empty once the agent's processes were killed.
const EMPTYING_TIMEOUT: Duration = Duration::from_secs(2);

/// The group's directories (one, or one per controller) and their `cgroup.procs`, opened ahead
/// so joining needs no allocation in the child.
#[derive(Debug)]
pub(crate) struct AgentCgroup {
    directories: Vec<PathBuf>,
    procs: Vec<File>,
    /// Where the kernel counts OOM kills: `memory.events` (v2) or `memory.oom_control` (v1).
    memory_events: PathBuf,
}

impl AgentCgroup {
    /// A new group with these bounds, or `None` (logged once) where none can be made.
    pub(crate) fn create(memory_bytes: u64, cpus: f64) -> Option<AgentCgroup> {
        if !nix::unistd::geteuid().is_root() {
            warn_unbounded_once("agentpod is not root");
            return None;
        }
        let suffix: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(8)
            .map(char::from)
            .collect();
        let name = format!("{}-{suffix}", std::process::id());
        let created = if Path::new(CGROUP_ROOT).join("cgroup.controllers").is_file() {
            create_unified(&name, memory_bytes, cpus)
        } else {
            create_per_controller(&name, memory_bytes, cpus)
        };
        match created {
            Ok(cgroup) => Some(cgroup),
            Err(error) => {
                warn_unbounded_once(&format!("cannot create a control group: {error}"));
                None
            }
        }
    }

    /// The descriptors the child writes its process id to, in `join`.
    pub(crate) fn procs_descriptors(&self) -> Vec<RawFd> {
        self.procs.iter().map(AsRawFd::as_raw_fd).collect()
    }

    /// How often the kernel killed a process of the group for memory so far.
    pub(crate) fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(&self.memory_events)
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("oom_kill "))
                    .and_then(|count| count.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

/// Moves the calling process into the groups of `descriptors`. Runs in the forked child before
/// it executes: only async-signal-safe calls, no allocation.
pub(crate) fn join(descriptors: &[RawFd]) -> std::io::Result<()> {
    // The process id in decimal, written into a buffer on the stack.
    let mut digits = [0u8; 20];
    let mut value = nix::unistd::getpid().as_raw().unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for descriptor in descriptors {
        let text = &digits[start..];
        // SAFETY: writing a stack buffer to a descriptor the parent opened.
        let written = unsafe { nix::libc::write(*descriptor, text.as_ptr().cast(), text.len()) };
        if written < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

impl Drop for AgentCgroup {
    /// Removes the group once it is empty: the agent's processes die with its sandbox, a
    /// moment after the agent itself.
    fn drop(&mut self) {
        self.procs.clear();
        let deadline = Instant::now() + EMPTYING_TIMEOUT;
        for directory in &self.directories {
            loop {
                match std::fs::remove_dir(directory) {
                    Ok(()) => break,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => break,
                    Err(error) if Instant::now() >= deadline => {
                        tracing::warn!(group = %directory.display(), %error, "cannot remove an agent's control group; `agentpod gc` will");
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
    }
}

fn create_unified(name: &str, memory_bytes: u64, cpus: f64) -> std::io::Result<AgentCgroup> {
    let root = Path::new(CGROUP_ROOT);
    let parent = root.join(PARENT);
    std::fs::create_dir_all(&parent)?;
    // Controllers reach a group only through its parent's subtree_control.
    for directory in [root, parent.as_path()] {
        write(&directory.join("cgroup.subtree_control"), "+memory +cpu")?;
    }
    let directory = parent.join(name);
    std::fs::create_dir(&directory)?;
    // Recorded as soon as it exists, so a later failure removes it (drop).
    let mut cgroup = AgentCgroup {
        procs: Vec::new(),
        directories: vec![directory.clone()],
        memory_events: directory.join("memory.events"),
    };
    cgroup.procs.push(open_procs(&directory)?);
    write(&directory.join("memory.max"), &memory_bytes.to_string())?;
    write(&directory.join("memory.swap.max"), "0").ok();
    write(
        &directory.join("cpu.max"),
        &format!("{} {CPU_PERIOD_MICROSECONDS}", cpu_quota(cpus)),
    )?;
    Ok(cgroup)
}

fn create_per_controller(name: &str, memory_bytes: u64, cpus: f64) -> std::io::Result<AgentCgroup> {
    let root = Path::new(CGROUP_ROOT);
    let memory = root.join("memory").join(PARENT).join(name);
    let cpu = root.join("cpu").join(PARENT).join(name);
    let mut cgroup = AgentCgroup {
        directories: Vec::new(),
        procs: Vec::new(),
        memory_events: memory.join("memory.oom_control"),
    };
    // Each directory is recorded as soon as it exists, so a later failure removes it (drop).
    std::fs::create_dir_all(&memory)?;
    cgroup.directories.push(memory.clone());
    write(
        &memory.join("memory.limit_in_bytes"),
        &memory_bytes.to_string(),
    )?;
    // Swap counts too where the kernel accounts it; without swap accounting this file is absent.
    write(
        &memory.join("memory.memsw.limit_in_bytes"),
        &memory_bytes.to_string(),
    )
    .ok();
    cgroup.procs.push(open_procs(&memory)?);
    std::fs::create_dir_all(&cpu)?;
    cgroup.directories.push(cpu.clone());
    write(
        &cpu.join("cpu.cfs_period_us"),
        &CPU_PERIOD_MICROSECONDS.to_string(),
    )?;
    write(&cpu.join("cpu.cfs_quota_us"), &cpu_quota(cpus).to_string())?;
    cgroup.procs.push(open_procs(&cpu)?);
    Ok(cgroup)
}

/// CPU time per period, at least a millisecond.
fn cpu_quota(cpus: f64) -> u64 {
    ((cpus * CPU_PERIOD_MICROSECONDS as f64) as u64).max(1_000)
}

fn open_procs(directory: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(directory.join("cgroup.procs"))
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(value.as_bytes())
}

/// Agent control groups whose agentpod process is gone (or all, with `all`), removed unless
/// `dry_run`: what a run killed mid-issue left. Their processes died with their sandbox.
pub fn collect_agent_cgroups(all: bool, dry_run: bool) -> Vec<PathBuf> {
    let root = Path::new(CGROUP_ROOT);
    let parents = [
        root.join(PARENT),
        root.join("memory").join(PARENT),
        root.join("cpu").join(PARENT),
    ];
    let mut collected = Vec::new();
    for parent in parents {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let owner = entry
                .file_name()
                .to_string_lossy()
                .split_once('-')
                .and_then(|(pid, _)| pid.parse::<i32>().ok());
            let alive = owner.is_some_and(|pid| {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
            });
            if alive && !all {
                continue;
            }
            if !dry_run && let Err(error) = std::fs::remove_dir(&path) {
                tracing::warn!(group = %path.display(), %error, "cannot remove a leftover agent control group");
                continue;
            }
            collected.push(path);
        }
    }
    collected
}

fn warn_unbounded_once(reason: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!("host agents run without memory and CPU bounds ({reason})");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quotas_follow_the_share_of_a_cpu() {
        assert_eq!(cpu_quota(1.0), 100_000);
        assert_eq!(cpu_quota(0.5), 50_000);
        assert_eq!(cpu_quota(0.0), 1_000);
    }

    /// As root (CI here is): a process that joins the group is bounded by it, and the group
    /// goes once the process is gone.
    #[test]
    fn a_process_that_joins_is_bounded_and_the_group_goes_with_it() {
        let Some(cgroup) = AgentCgroup::create(64 << 20, 1.0) else {
            return;
        };
        let descriptors = cgroup.procs_descriptors();
        let mut command = std::process::Command::new("/usr/bin/python3");
        // 200 MiB touched page by page: more than the group allows.
        command.args(["-c", "bytearray(200 << 20)"]);
        // SAFETY: `join` is async-signal-safe.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || join(&descriptors));
        }
        let status = command.status().expect("python3 runs");
        assert!(!status.success(), "the memory hog was stopped: {status:?}");
        assert!(cgroup.oom_kills() >= 1, "the kill is counted");
        let directories = cgroup.directories.clone();
        drop(cgroup);
        assert!(directories.iter().all(|directory| !directory.exists()));
    }
}
