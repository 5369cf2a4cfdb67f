//! Running the agent once: start it with the contract's environment, watch the clock and the
//! cancel token, capture its output, and read its answer.

use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::io::AsyncRead;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agent_cgroup::{AgentCgroup, join};
use crate::captured_output::capture_stream;
use crate::process_group::ProcessGroup;
use crate::{AgentExit, AgentInvocation, AgentOutput, AgentRun, CapturedOutput, HostSandbox};

/// How long a terminated agent gets to exit after SIGTERM before its group is killed.
const TERMINATION_GRACE: Duration = Duration::from_secs(2);

/// How long to keep reading output after the agent ended: a process that left the agent's group
/// (e.g. through `setsid`) can hold the pipes open forever.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Used when the host itself has no PATH, so the agent can still find its interpreter.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("agent command is empty")]
    EmptyCommand,
    #[error("working directory {path} is not a directory")]
    WorkingDirectory { path: PathBuf },
    #[error("cannot remove stale output file {path}")]
    StaleOutput {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start agent program `{program}`")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot give the sandbox's user the directory {path}")]
    Ownership { path: PathBuf, source: nix::Error },
    #[error(transparent)]
    SandboxUnavailable(#[from] crate::SandboxUnavailable),
}

enum Ending {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

/// Runs the agent once and records what happened; every failure is an outcome, never an error.
///
/// The agent gets a cleared environment: the host's PATH, HOME set to the working directory, and
/// the invocation's variables. It leads its own process group, which is terminated on timeout or
/// cancel (SIGTERM, then SIGKILL after a grace period) and killed once the agent has ended, so
/// nothing it started outlives the run.
pub async fn run_agent(invocation: &AgentInvocation, cancel: CancellationToken) -> AgentRun {
    let started = Instant::now();
    match start(invocation) {
        Ok((child, cgroup)) => supervise(child, cgroup, invocation, cancel, started).await,
        Err(error) => AgentRun {
            duration: started.elapsed(),
            ..AgentRun::not_started(agentpod_error_chain::error_chain(&error))
        },
    }
}

/// Watches a started agent to its end (its own, its timeout's or the cancel token's), then
/// captures its output and reads its answer; `started` is when its time began.
pub(crate) async fn supervise(
    mut child: Child,
    cgroup: Option<AgentCgroup>,
    invocation: &AgentInvocation,
    cancel: CancellationToken,
    started: Instant,
) -> AgentRun {
    let group = ProcessGroup::led_by(child.id());
    tracing::debug!(command = ?invocation.command, process = child.id(), "agent started");

    let stop_reading = CancellationToken::new();
    let stdout_task = spawn_capture(
        child.stdout.take(),
        invocation.output_limit,
        stop_reading.clone(),
    );
    let stderr_task = spawn_capture(
        child.stderr.take(),
        invocation.output_limit,
        stop_reading.clone(),
    );

    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status),
        () = tokio::time::sleep(invocation.timeout) => Ending::TimedOut,
        () = cancel.cancelled() => Ending::Cancelled,
    };
    let exit = match ending {
        Ending::Exited(Ok(status)) => exit_from_status(status, invocation.sandbox.is_some()),
        Ending::Exited(Err(error)) => {
            terminate(&mut child, &group).await;
            AgentExit::FailedToStart {
                message: format!("cannot wait for agent process: {error}"),
            }
        }
        Ending::TimedOut => {
            terminate(&mut child, &group).await;
            AgentExit::TimedOut
        }
        Ending::Cancelled => {
            terminate(&mut child, &group).await;
            AgentExit::Cancelled
        }
    };
    let duration = started.elapsed();
    group.kill_and_release();
    // The kernel's OOM killer ends the agent with SIGKILL, which bwrap reports as any other.
    let exit = match (&exit, &cgroup) {
        (AgentExit::Exited { .. } | AgentExit::Signaled { .. }, Some(cgroup))
            if cgroup.oom_kills() > 0 =>
        {
            AgentExit::Signaled { signal: 9 }
        }
        _ => exit,
    };
    if let Some(cgroup) = cgroup {
        // Removing the group waits for its last processes to go: off the async threads.
        tokio::task::spawn_blocking(move || drop(cgroup));
    }
    tracing::debug!(?exit, ?duration, "agent ended");

    let (stdout, stderr) = drain(stdout_task, stderr_task, &stop_reading).await;
    AgentRun {
        exit,
        stdout,
        stderr,
        output: AgentOutput::read(&invocation.output_path),
        duration,
    }
}

fn start(invocation: &AgentInvocation) -> Result<(Child, Option<AgentCgroup>), StartError> {
    let (program, arguments) = invocation
        .command
        .split_first()
        .ok_or(StartError::EmptyCommand)?;
    if !invocation.working_dir.is_dir() {
        return Err(StartError::WorkingDirectory {
            path: invocation.working_dir.clone(),
        });
    }
    remove_stale_output(invocation)?;
    let (mut command, sandbox_parts) = match &invocation.sandbox {
        None => {
            let mut command = Command::new(program);
            command.args(arguments).current_dir(&invocation.working_dir);
            (command, None)
        }
        Some(sandbox) => {
            let (command, parts) =
                sandboxed_command(sandbox, &invocation.command, &invocation.working_dir)?;
            (command, Some(parts))
        }
    };
    command
        .env_clear()
        .env("PATH", host_path())
        .env("HOME", &invocation.working_dir)
        .envs(invocation.env.iter().map(|(name, value)| (name, value)));
    let child = as_agent_process(&mut command)
        .spawn()
        .map_err(|source| StartError::Spawn {
            program: program.clone(),
            source,
        })?;
    // The arguments pipe has been read by now or will be from the child's own copy.
    Ok((child, sandbox_parts.and_then(|parts| parts.cgroup)))
}

/// An answer left over from an earlier run must not be taken for this run's answer.
pub(crate) fn remove_stale_output(invocation: &AgentInvocation) -> Result<(), StartError> {
    match std::fs::remove_file(&invocation.output_path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StartError::StaleOutput {
            path: invocation.output_path.clone(),
            source,
        }),
    }
}

/// The PATH every agent gets: agentpod's own, or a usual one where the host has none.
pub(crate) fn host_path() -> std::ffi::OsString {
    std::env::var_os("PATH").unwrap_or_else(|| FALLBACK_PATH.into())
}

/// How every agent process is started: no stdin, its output captured, leading a process group
/// of its own (signalled as one), killed if agentpod lets go of it.
pub(crate) fn as_agent_process(command: &mut Command) -> &mut Command {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
}

/// What a sandboxed start needs kept until the agent is spawned (the pipe holding bwrap's
/// arguments) or until it has ended (its control group).
pub(crate) struct SandboxParts {
    pub(crate) _arguments: std::os::fd::OwnedFd,
    pub(crate) cgroup: Option<AgentCgroup>,
}

/// bubblewrap around the agent: the writable directories are handed to the sandbox's
/// user first, and that user's process count is capped (the limit is inherited through
/// `setpriv` and counts per user id). The pipe holding bwrap's arguments must stay open until
/// the command is spawned.
pub(crate) fn sandboxed_command(
    sandbox: &HostSandbox,
    agent_command: &[String],
    working_dir: &std::path::Path,
) -> Result<(Command, SandboxParts), StartError> {
    crate::sandbox_support()?;
    let bwrap = crate::host_sandbox::bwrap_program().ok_or_else(|| crate::SandboxUnavailable {
        reason: "`bwrap` is not installed".to_string(),
    })?;
    if let Some(user) = sandbox.user {
        for path in &sandbox.writable {
            nix::unistd::chown(
                path,
                Some(nix::unistd::Uid::from_raw(user.uid)),
                Some(nix::unistd::Gid::from_raw(user.gid)),
            )
            .map_err(|source| StartError::Ownership {
                path: path.clone(),
                source,
            })?;
        }
    }
    let mut command = Command::new(bwrap);
    // The outer bwrap starts in `/`: the agent's directory is reached inside the sandbox.
    command.current_dir("/");
    // bwrap stays the sandbox's PID 1, whose command line every process inside can read: its
    // arguments (which name agentpod's masked files) go through a pipe, not the command line.
    // bwrap takes options from the pipe and the command from its own command line.
    let arguments = sandbox.arguments(agent_command, working_dir);
    let split = arguments
        .iter()
        .position(|argument| argument == "--")
        .unwrap_or(arguments.len());
    let (options, agent_command) = arguments.split_at(split);
    let pipe = arguments_pipe(options).map_err(|source| StartError::Spawn {
        program: bwrap.display().to_string(),
        source,
    })?;
    let pipe_fd = pipe.as_raw_fd();
    command
        .arg("--args")
        .arg(ARGUMENTS_FD.to_string())
        .args(agent_command);
    let processes = sandbox.user.map(|_| sandbox.max_processes);
    let cgroup = AgentCgroup::create(sandbox.memory_bytes, sandbox.cpus);
    let cgroup_procs = cgroup
        .as_ref()
        .map(AgentCgroup::procs_descriptors)
        .unwrap_or_default();
    // SAFETY: writing to open descriptors, dup2, fcntl and setrlimit are async-signal-safe and
    // allocate nothing.
    unsafe {
        command.pre_exec(move || {
            join(&cgroup_procs)?;
            if pipe_fd == ARGUMENTS_FD {
                // dup2 onto itself would keep close-on-exec set.
                nix::fcntl::fcntl(
                    std::os::fd::BorrowedFd::borrow_raw(pipe_fd),
                    nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
                )
                .map_err(std::io::Error::from)?;
            } else if nix::libc::dup2(pipe_fd, ARGUMENTS_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(processes) = processes {
                nix::sys::resource::setrlimit(
                    nix::sys::resource::Resource::RLIMIT_NPROC,
                    processes,
                    processes,
                )
                .map_err(std::io::Error::from)?;
            }
            Ok(())
        });
    }
    Ok((
        command,
        SandboxParts {
            _arguments: pipe,
            cgroup,
        },
    ))
}

/// The descriptor bwrap reads its arguments from (`--args`).
const ARGUMENTS_FD: i32 = 3;

/// A pipe holding `arguments`, NUL-separated, its write end closed: what `bwrap --args` reads.
/// Kept close-on-exec here, so no other child started meanwhile inherits it.
fn arguments_pipe(arguments: &[std::ffi::OsString]) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    let mut encoded = Vec::new();
    for argument in arguments {
        encoded.extend_from_slice(argument.as_bytes());
        encoded.push(0);
    }
    // Written before the reader starts: it has to fit the pipe's buffer.
    if encoded.len() >= PIPE_CAPACITY {
        return Err(std::io::Error::other(format!(
            "the sandbox's arguments take {} bytes, more than a pipe holds; list fewer `agent.read_only` paths",
            encoded.len()
        )));
    }
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    std::fs::File::from(write).write_all(&encoded)?;
    Ok(read)
}

/// Linux's default pipe buffer.
const PIPE_CAPACITY: usize = 64 * 1024;

fn spawn_capture<Stream>(
    stream: Option<Stream>,
    limit: usize,
    stop: CancellationToken,
) -> JoinHandle<CapturedOutput>
where
    Stream: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        match stream {
            Some(stream) => capture_stream(stream, limit, stop).await,
            None => CapturedOutput::default(),
        }
    })
}

/// SIGTERM to the whole group, a grace period waiting on the agent, then SIGKILL to the group,
/// which also catches children that outlived the agent or ignore SIGTERM.
async fn terminate(child: &mut Child, group: &ProcessGroup) {
    group.signal(Signal::SIGTERM);
    let _ = tokio::time::timeout(TERMINATION_GRACE, child.wait()).await;
    group.signal(Signal::SIGKILL);
    if let Err(error) = child.wait().await {
        tracing::warn!(%error, "cannot reap terminated agent process");
    }
}

async fn drain(
    stdout_task: JoinHandle<CapturedOutput>,
    stderr_task: JoinHandle<CapturedOutput>,
    stop_reading: &CancellationToken,
) -> (CapturedOutput, CapturedOutput) {
    let outputs = async { tokio::join!(stdout_task, stderr_task) };
    tokio::pin!(outputs);
    let (stdout, stderr) = tokio::select! {
        outputs = &mut outputs => outputs,
        () = tokio::time::sleep(DRAIN_GRACE) => {
            tracing::debug!("agent output still open after it ended; keeping what was read");
            stop_reading.cancel();
            outputs.await
        }
    };
    let joined = |result: Result<CapturedOutput, tokio::task::JoinError>| {
        result.unwrap_or_else(|error| {
            tracing::warn!(%error, "agent output reader failed");
            CapturedOutput::default()
        })
    };
    (joined(stdout), joined(stderr))
}

/// In the sandbox, bubblewrap reports an agent killed by signal N as exit code 128 + N, the
/// way shells do.
fn exit_from_status(status: ExitStatus, sandboxed: bool) -> AgentExit {
    match (status.code(), status.signal()) {
        (Some(code), _) if sandboxed && (129..=128 + 64).contains(&code) => {
            AgentExit::Signaled { signal: code - 128 }
        }
        (Some(code), _) => AgentExit::Exited { code },
        (None, Some(signal)) => AgentExit::Signaled { signal },
        // Neither a code nor a signal does not happen on Unix for a process that ended.
        (None, None) => AgentExit::Exited { code: -1 },
    }
}
