//! `PrestartedAgent`: a sandboxed host agent started before its issue is known, so that setting
//! up the sandbox (bubblewrap's namespaces and mounts, its control group: most of a sandboxed
//! start) happens while the pod's previous agent still works, not between two agents.
//!
//! The sandbox is made as for a cold start, but what runs in it first is a shell of the host's
//! that waits on a pipe only agentpod holds. The start writes one line to that pipe:
//! `exec env -i` with the environment and the agent's command, every word
//! single-quoted, and closes it; the shell closes its end and runs that line, so the agent
//! replaces it (same process, same sandbox, same limits) with exactly the environment a cold
//! start gives. Nothing of the issue exists in the sandbox before then: its view holds the
//! paths the runner chose for it, which the runner fills just before the start.
//!
//! Once the sandbox is set up and its shell runs, the shell says so on a second pipe
//! ([`PrestartedAgent::ready`]): a sandbox that failed to set up is then found, and replaced,
//! while the previous agent still works rather than at its issue's start.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

use crate::agent_cgroup::AgentCgroup;
use crate::process_group::ProcessGroup;
use crate::run_agent::{
    StartError, as_agent_process, host_path, remove_stale_output, sandboxed_command, supervise,
};
use crate::{AgentInvocation, AgentRun, HostSandbox};

/// The descriptor the waiting shell reads its start line from.
const START_FD: i32 = 4;

/// The descriptor the waiting shell writes one byte to once it runs (the sandbox is set up),
/// then closes.
const READY_FD: i32 = 5;

/// Where the pipes' descriptors sit in agentpod until the fork: above the descriptors
/// the child is given (0–2, bwrap's arguments on 3, these on 4 and 5), so no `dup2` clobbers
/// one.
const START_FD_FLOOR: i32 = 10;

/// The shell that waits: it says it runs, reads the start line (every line up to the pipe's
/// end), closes the pipe and runs it; an empty line (agentpod went away) ends it.
const WAITING_SHELL: &str = "echo >&5; exec 5>&-
script=
while IFS= read -r line <&4; do script=\"$script$line
\"; done
exec 4<&-
[ -n \"$script\" ] || exit 125
eval \"$script\"";

/// The host's `env`, which starts the agent with nothing but its environment; the sandbox shows
/// the same path (system directories are bound read-only at their own paths).
const ENV_PROGRAMS: &[&str] = &["/usr/bin/env", "/bin/env"];

/// The shell that waits; in the sandbox like `env`.
const SHELL: &str = "/bin/sh";

/// How long the waiting shell may take to read its start line, and the sandbox to set up.
const START_LINE_TIMEOUT: Duration = Duration::from_secs(5);

/// A sandbox set up ahead of its issue, its shell waiting for the start line. Dropped unused,
/// everything in it is killed and its control group removed.
#[derive(Debug)]
pub struct PrestartedAgent {
    /// `None` once handed to `supervise`.
    child: Option<Child>,
    group: Option<ProcessGroup>,
    cgroup: Option<AgentCgroup>,
    start_line: Option<OwnedFd>,
    /// Where the shell says it runs. Kept open until the shell has said it or the sandbox goes:
    /// a shell writing to a closed pipe would die of SIGPIPE.
    ready_signal: ReadySignal,
    env_program: PathBuf,
    /// The agent's argv, as `AgentInvocation::command`.
    command: Vec<String>,
    /// When the sandbox was started, for the log.
    prestarted: Instant,
}

impl PrestartedAgent {
    /// Starts `sandbox` for the agent `command` with its working directory `working_dir`,
    /// waiting for an issue. The sandbox's paths (`writable`, `scratch`, `issue_file`) must
    /// exist already; the issue file is filled in place before [`PrestartedAgent::run`].
    pub fn start(
        sandbox: &HostSandbox,
        command: &[String],
        working_dir: &Path,
    ) -> Result<PrestartedAgent, PrestartError> {
        // `env` takes words with `=` for variables up to the first without one.
        match command.first() {
            None => return Err(PrestartError::Start(Box::new(StartError::EmptyCommand))),
            Some(program) if program.contains('=') => {
                return Err(PrestartError::ProgramName(program.clone()));
            }
            Some(_) => {}
        }
        let env_program = ENV_PROGRAMS
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
            .ok_or(PrestartError::NoEnvProgram)?;
        let shell_command = [
            SHELL.to_string(),
            "-c".to_string(),
            WAITING_SHELL.to_string(),
            "agentpod-waiting-agent".to_string(),
        ];
        let (mut sandboxed, parts) = sandboxed_command(sandbox, &shell_command, working_dir)
            .map_err(|error| PrestartError::Start(Box::new(error)))?;
        let (reader, writer) = raised_pipe().map_err(PrestartError::Pipe)?;
        let (ready_reader, ready_writer) = raised_pipe().map_err(PrestartError::Pipe)?;
        let reader_fd = reader.as_raw_fd();
        let ready_fd = ready_writer.as_raw_fd();
        // SAFETY: dup2 is async-signal-safe and allocates nothing; it also clears
        // close-on-exec on the copies, which are what the shell inherits.
        unsafe {
            sandboxed.pre_exec(move || {
                for (from, to) in [(reader_fd, START_FD), (ready_fd, READY_FD)] {
                    if nix::libc::dup2(from, to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        sandboxed.env_clear().env("PATH", host_path());
        let child = as_agent_process(&mut sandboxed).spawn().map_err(|source| {
            PrestartError::Start(Box::new(StartError::Spawn {
                program: "bwrap".to_string(),
                source,
            }))
        })?;
        drop(reader);
        drop(ready_writer);
        let group = Some(ProcessGroup::led_by(child.id()));
        Ok(PrestartedAgent {
            child: Some(child),
            group,
            cgroup: parts.cgroup,
            start_line: Some(writer),
            ready_signal: ReadySignal::Unread(ready_reader),
            env_program,
            command: command.to_vec(),
            prestarted: Instant::now(),
        })
    }

    /// Whether the sandbox set up and its shell runs, waiting for its start line: `false` when
    /// it ended first (bubblewrap can lose a race with a mount another pod's slot makes or
    /// removes under a directory it binds) or did not get there within seconds. Such a sandbox
    /// would start its agent cold; the caller can start another instead. Answers at once once
    /// it has answered; a call given up on leaves the question open for the next.
    pub async fn ready(&mut self) -> bool {
        self.ready_signal =
            match std::mem::replace(&mut self.ready_signal, ReadySignal::Said(false)) {
                ReadySignal::Unread(signal) => {
                    tokio::net::unix::pipe::Receiver::from_owned_fd(signal)
                        .map_or(ReadySignal::Said(false), ReadySignal::Reading)
                }
                asked => asked,
            };
        if let ReadySignal::Reading(pipe) = &mut self.ready_signal {
            // Cancel-safe: dropped while it waits, the pipe stays open here for the next call.
            let mut byte = [0u8; 1];
            let said = tokio::time::timeout(
                START_LINE_TIMEOUT,
                tokio::io::AsyncReadExt::read(pipe, &mut byte),
            )
            .await;
            // One byte read: the shell ran. Nothing (its end closed first): the sandbox ended.
            self.ready_signal = ReadySignal::Said(matches!(said, Ok(Ok(1))));
        }
        if let ReadySignal::Said(false) = self.ready_signal {
            self.start_line = None;
        }
        self.start_line.is_some()
            && self
                .child
                .as_mut()
                .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The process id of the sandbox (bubblewrap's outer process) while it waits.
    #[must_use]
    pub fn process_id(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Starts the agent in this sandbox with `invocation`'s environment and waits for its end,
    /// as a cold start ([`crate::run_agent`]) does; the agent's time starts now. The
    /// invocation's paths and command must be the ones the sandbox was started with.
    pub async fn run(
        mut self,
        invocation: &AgentInvocation,
        cancel: CancellationToken,
    ) -> AgentRun {
        let started = Instant::now();
        tracing::debug!(
            waited_ms = self.prestarted.elapsed().as_secs_f64() * 1e3,
            "prestarted agent starting"
        );
        if let Err(error) = remove_stale_output(invocation) {
            return AgentRun {
                duration: started.elapsed(),
                ..AgentRun::not_started(agentpod_error_chain::error_chain(&error))
            };
        }
        // A sandbox that ended while it waited (bubblewrap can fail to set up: it loses a race
        // with a mount another pod's slot made or removed under a directory it binds) never ran
        // the agent, and neither did one whose shell does not take its start line: it goes (its
        // group is killed on drop) and the agent starts cold, once.
        let ended = self
            .child
            .as_mut()
            .is_none_or(|child| !matches!(child.try_wait(), Ok(None)));
        let line = start_line(&self.env_program, &self.command, invocation);
        let refused = match self.start_line.take() {
            _ if ended => Some("the sandbox ended while it waited".to_owned()),
            Some(writer) => write_start_line(writer, line.as_bytes())
                .await
                .err()
                .map(|error| error.to_string()),
            None => Some("the sandbox did not say it runs".to_owned()),
        };
        if let Some(reason) = refused {
            tracing::warn!(%reason, "the prestarted sandbox cannot start the agent; starting it cold");
            drop(self);
            return crate::run_agent::run_agent(invocation, cancel).await;
        }
        // From here on the agent's process group and control group belong to `supervise`.
        if let Some(group) = self.group.take() {
            group.forget();
        }
        let (Some(child), cgroup) = (self.child.take(), self.cgroup.take()) else {
            return AgentRun::not_started("the prestarted agent was already started");
        };
        supervise(child, cgroup, invocation, cancel, started).await
    }
}

impl Drop for PrestartedAgent {
    fn drop(&mut self) {
        // Unused: the group dies (ProcessGroup's drop), the child is killed (kill_on_drop), and
        // the control group goes once empty, off the async threads.
        drop(self.group.take());
        if let Some(cgroup) = self.cgroup.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn_blocking(move || drop(cgroup));
                }
                Err(_) => drop(cgroup),
            }
        }
    }
}

/// The pipe the waiting shell says it runs on, as far as it has been read.
#[derive(Debug)]
enum ReadySignal {
    /// Not asked yet (the descriptor is turned into a pipe of the runtime's when it is).
    Unread(OwnedFd),
    /// Asked, the byte not come yet.
    Reading(tokio::net::unix::pipe::Receiver),
    /// Whether the shell said it runs (`false` also when the pipe could not be read).
    Said(bool),
}

/// Why a sandbox could not be started ahead.
#[derive(Debug, thiserror::Error)]
pub enum PrestartError {
    #[error("no `env` program at {}", ENV_PROGRAMS.join(" or "))]
    NoEnvProgram,
    #[error("the agent's program `{0}` has `=` in its path")]
    ProgramName(String),
    #[error("cannot make the start line's pipe")]
    Pipe(#[source] std::io::Error),
    #[error("cannot start the sandbox")]
    Start(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// A pipe whose ends are at `START_FD_FLOOR` or above (so no `dup2` before the exec clobbers
/// one), both close-on-exec (the child gets its copy through `dup2`).
fn raised_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok((raise(reader)?, raise(writer)?))
}

fn raise(descriptor: OwnedFd) -> std::io::Result<OwnedFd> {
    let raised = nix::fcntl::fcntl(
        &descriptor,
        nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(START_FD_FLOOR),
    )?;
    // SAFETY: `raised` is a descriptor fcntl just made for us and nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raised) })
}

/// `exec env -i NAME=VALUE… COMMAND…` with the environment a cold start gives (the host's
/// PATH, HOME and PWD the working directory, the invocation's variables), each word quoted for
/// the shell, ended by a newline.
fn start_line(env_program: &Path, command: &[String], invocation: &AgentInvocation) -> String {
    let working_dir = invocation.working_dir.display().to_string();
    let mut words = vec![
        "exec".to_string(),
        quoted(&env_program.display().to_string()),
        "-i".to_string(),
        quoted(&format!("PATH={}", host_path().to_string_lossy())),
        quoted(&format!("HOME={working_dir}")),
        quoted(&format!("PWD={working_dir}")),
    ];
    words.extend(
        invocation
            .env
            .iter()
            .map(|(name, value)| quoted(&format!("{name}={value}"))),
    );
    // The program has no `=` (checked at the start): `env` takes it for the command.
    words.extend(command.iter().map(|word| quoted(word)));
    let mut line = words.join(" ");
    line.push('\n');
    line
}

/// `text` as one word for a POSIX shell: single-quoted, each `'` written as `'\''`.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

async fn write_start_line(writer: OwnedFd, line: &[u8]) -> std::io::Result<()> {
    let mut pipe = tokio::net::unix::pipe::Sender::from_owned_fd(writer)?;
    tokio::time::timeout(START_LINE_TIMEOUT, pipe.write_all(line))
        .await
        .map_err(|_| std::io::Error::other("the waiting shell did not read its start line"))?
}
