//! A scratch agent: a shell script in a temporary directory, and helpers to inspect processes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentpod_agent::AgentInvocation;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub(crate) const OUTPUT_LIMIT: usize = 64 * 1024;

/// How often a condition is checked while waiting on it: often enough to be prompt, seldom
/// enough not to take a core from the agent being watched.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

pub(crate) struct ScriptAgent {
    pub(crate) directory: tempfile::TempDir,
    pub(crate) invocation: AgentInvocation,
}

impl ScriptAgent {
    /// An agent running `body` with `/bin/sh`; the script can use `$AGENTPOD_OUTPUT`.
    pub(crate) fn new(body: &str) -> ScriptAgent {
        let directory = tempfile::tempdir().expect("create temporary directory");
        let script = directory.path().join("agent.sh");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).expect("write agent script");
        let working_dir = directory.path().join("work");
        std::fs::create_dir(&working_dir).expect("create working directory");
        let output_path = working_dir.join("output.json");
        let invocation = AgentInvocation {
            command: vec!["/bin/sh".to_owned(), script.display().to_string()],
            env: vec![(
                "AGENTPOD_OUTPUT".to_owned(),
                output_path.display().to_string(),
            )],
            working_dir,
            timeout: Duration::from_secs(30),
            output_limit: OUTPUT_LIMIT,
            output_path,
            sandbox: None,
        };
        ScriptAgent {
            directory,
            invocation,
        }
    }

    /// Passes `PID_FILE`, where the script writes the id of a process the test then watches.
    pub(crate) fn with_pid_file(mut self) -> ScriptAgent {
        let path = self.pid_file().display().to_string();
        self.invocation.env.push(("PID_FILE".to_owned(), path));
        self
    }

    pub(crate) fn pid_file(&self) -> PathBuf {
        self.path("process.pid")
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }
}

/// Waits until `path` holds a process id, written by the agent.
pub(crate) fn wait_for_process_id(path: &Path, deadline: Duration) -> i32 {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(process_id) = text.trim().parse()
        {
            return process_id;
        }
        assert!(
            started.elapsed() < deadline,
            "no process id in {} after {deadline:?}",
            path.display()
        );
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Whether the process is gone: no such process, or dead and waiting to be reaped by init
/// (a zombie still answers `kill -0`).
pub(crate) fn process_is_gone(process_id: i32) -> bool {
    if kill(Pid::from_raw(process_id), None).is_err() {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{process_id}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

pub(crate) fn assert_process_goes_away(process_id: i32, deadline: Duration) {
    let started = Instant::now();
    while !process_is_gone(process_id) {
        assert!(
            started.elapsed() < deadline,
            "process {process_id} still running after {deadline:?}"
        );
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Kills a process the test started outside the agent's group, also when the test fails.
pub(crate) struct KillOnDrop(pub(crate) i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0), Signal::SIGKILL);
    }
}
