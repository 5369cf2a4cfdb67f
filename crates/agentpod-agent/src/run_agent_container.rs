//! Running a containerised agent once: a locked-down container on the pod's network, watched
//! like a host agent (clock, cancel token, capped output), then its answer read and the
//! container removed.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    StopContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt};
use nix::unistd::{Gid, Uid};
use rand::RngExt;
use rand::distr::Alphanumeric;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agent_container::{AgentContainer, is_not_found};
use crate::captured_output::OutputHead;
use crate::container_invocation::{
    CONTAINER_ISSUE_PATH, CONTAINER_OUTPUT_DIRECTORY, ContainerInvocation, ContainerPlacement,
    OUTPUT_FILE_NAME,
};
use crate::{AgentExit, AgentOutput, AgentRun, CapturedOutput};

/// Seconds a cancelled agent gets between SIGTERM and SIGKILL.
const STOP_GRACE_SECONDS: i32 = 2;

/// How long to wait for the engine to report a killed or stopped container as ended.
const END_DEADLINE: Duration = Duration::from_secs(20);

/// How long to keep reading output after the container ended.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The agent's user when agentpod runs as root: `nobody`, which exists (by number) in every
/// image, `FROM scratch` ones included.
const UNPRIVILEGED_ID: u32 = 65534;

/// The scratch area: the only writable place besides the output directory.
const SCRATCH_DIRECTORY: &str = "/tmp";
const SCRATCH_OPTIONS: &str = "rw,nosuid,nodev,size=64m,mode=1777";

/// The label naming the pod; the container's name starts with it, for people reading `docker ps`.
const POD_LABEL: &str = "dev.agentpod.pod";

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(
        "agent image {image} is not present locally; build the example agent with scripts/build-agent-image, or build or load your agent's image"
    )]
    ImageMissing { image: String },
    #[error("{action}")]
    Engine { action: String, source: DockerError },
    #[error("issue file {path} is not a readable file")]
    IssueFile { path: PathBuf },
    #[error("output directory {path} is not a directory")]
    OutputDirectory { path: PathBuf },
    #[error("cannot {action} {path}")]
    Prepare {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StartError {
    fn engine(action: impl Into<String>) -> impl FnOnce(DockerError) -> StartError {
        let action = action.into();
        move |source| StartError::Engine { action, source }
    }
}

enum Ending {
    Exited,
    WaitFailed(DockerError),
    TimedOut,
    Cancelled,
}

/// Runs a containerised agent once and records what happened; every failure is an outcome,
/// never an error.
///
/// The container joins only the pod's network; runs without capabilities, with
/// `no-new-privileges`, a read-only root filesystem with a small `/tmp` (also `HOME`), memory,
/// CPU and process limits, as an unprivileged user; gets only the contract's variables (and the
/// image's own `ENV`); sees the issue read-only and the output directory writable. It is killed
/// on timeout, stopped on cancel, and always removed, also when this future is dropped.
pub async fn run_agent_container(
    docker: &Docker,
    placement: &ContainerPlacement,
    invocation: &ContainerInvocation,
    cancel: CancellationToken,
) -> AgentRun {
    let started = Instant::now();
    let output_path = invocation.output_dir.join(OUTPUT_FILE_NAME);
    let not_started = |error: StartError| AgentRun {
        duration: started.elapsed(),
        ..AgentRun::not_started(agentpod_error_chain::error_chain(&error))
    };
    let user = match prepare_files(invocation, &output_path) {
        Ok(user) => user,
        Err(error) => return not_started(error),
    };
    if let Err(error) = check_image(docker, &invocation.image).await {
        return not_started(error);
    }
    let container = AgentContainer::named(docker.clone(), container_name(&placement.labels));
    let attached =
        match create_and_start(docker, container.name(), placement, invocation, &user).await {
            Ok(attached) => attached,
            Err(error) => {
                container.remove().await;
                return not_started(error);
            }
        };
    tracing::debug!(container = container.name(), image = %invocation.image, "agent container started");

    let stop_reading = CancellationToken::new();
    let capture = tokio::spawn(capture_attached(
        attached,
        invocation.output_limit,
        stop_reading.clone(),
    ));
    let ending = tokio::select! {
        ending = wait_until_ended(docker, container.name()) => ending,
        () = tokio::time::sleep(invocation.timeout) => Ending::TimedOut,
        () = cancel.cancelled() => Ending::Cancelled,
    };
    match &ending {
        Ending::Exited => {}
        Ending::TimedOut | Ending::WaitFailed(_) => kill(docker, container.name()).await,
        Ending::Cancelled => stop(docker, container.name()).await,
    }
    let (exit_code, out_of_memory) = final_state(docker, container.name()).await;
    let duration = started.elapsed();
    let exit = exit_from(ending, exit_code, out_of_memory);
    tracing::debug!(?exit, ?duration, out_of_memory, "agent container ended");

    let (stdout, mut stderr) = drain(capture, &stop_reading).await;
    container.remove().await;
    if out_of_memory {
        // Recorded where a reader of the agent's errors looks first; the exit alone (SIGKILL)
        // does not say why.
        stderr.text.push_str(&format!(
            "\n[agentpod] the agent container was killed for exceeding its memory limit of {} bytes\n",
            invocation.memory_bytes
        ));
    }
    AgentRun {
        exit,
        stdout,
        stderr,
        output: AgentOutput::read(&output_path),
        duration,
    }
}

/// Makes the mounted files usable by the container's user and removes a stale answer; returns
/// that user as `uid:gid`.
fn prepare_files(
    invocation: &ContainerInvocation,
    output_path: &Path,
) -> Result<String, StartError> {
    let issue = std::fs::metadata(&invocation.issue_path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .ok_or_else(|| StartError::IssueFile {
            path: invocation.issue_path.clone(),
        })?;
    if !invocation.output_dir.is_dir() {
        return Err(StartError::OutputDirectory {
            path: invocation.output_dir.clone(),
        });
    }
    // An answer left over from an earlier run must not be taken for this run's answer.
    match std::fs::remove_file(output_path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(StartError::Prepare {
                action: "remove stale output file",
                path: output_path.to_path_buf(),
                source,
            });
        }
    }
    if !Uid::effective().is_root() {
        // Not root: the agent runs as us, which already owns both and is not privileged.
        return Ok(format!("{}:{}", Uid::effective(), Gid::effective()));
    }
    // Root: the agent runs as nobody, which must be able to read the issue (mounted
    // read-only, so reading is all it can do) and write its answer.
    let mode = issue.permissions().mode();
    if mode & 0o004 == 0 {
        std::fs::set_permissions(
            &invocation.issue_path,
            std::fs::Permissions::from_mode(mode | 0o444),
        )
        .map_err(|source| StartError::Prepare {
            action: "make readable the issue file",
            path: invocation.issue_path.clone(),
            source,
        })?;
    }
    let nobody = Some(UNPRIVILEGED_ID);
    std::os::unix::fs::chown(&invocation.output_dir, nobody, nobody).map_err(|source| {
        StartError::Prepare {
            action: "hand the output directory to the agent user",
            path: invocation.output_dir.clone(),
            source,
        }
    })?;
    Ok(format!("{UNPRIVILEGED_ID}:{UNPRIVILEGED_ID}"))
}

/// Never pulls: agents under test are built locally, and no registry may be reachable.
async fn check_image(docker: &Docker, image: &str) -> Result<(), StartError> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Err(StartError::ImageMissing {
            image: image.to_string(),
        }),
        Err(error) => Err(StartError::engine(format!("cannot inspect image {image}"))(
            error,
        )),
    }
}

fn container_name(labels: &HashMap<String, String>) -> String {
    let random: String = rand::rng()
        .sample_iter(Alphanumeric)
        .map(|byte| char::from(byte).to_ascii_lowercase())
        .take(8)
        .collect();
    match labels.get(POD_LABEL) {
        Some(pod) => format!("{pod}-agent-{random}"),
        None => format!("agentpod-agent-{random}"),
    }
}

type AttachedOutput = std::pin::Pin<Box<dyn Stream<Item = Result<LogOutput, DockerError>> + Send>>;

/// Attached before starting, so no output is missed; the output is never written to the
/// engine's logs (the `none` log driver), so a flood of it cannot fill the host's disk.
async fn create_and_start(
    docker: &Docker,
    name: &str,
    placement: &ContainerPlacement,
    invocation: &ContainerInvocation,
    user: &str,
) -> Result<AttachedOutput, StartError> {
    let options = CreateContainerOptionsBuilder::new().name(name).build();
    docker
        .create_container(Some(options), container_body(placement, invocation, user))
        .await
        .map_err(StartError::engine(format!(
            "cannot create agent container from {}",
            invocation.image
        )))?;
    let attach = AttachContainerOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .stream(true)
        .build();
    let attached = docker
        .attach_container(name, Some(attach))
        .await
        .map_err(StartError::engine("cannot attach to agent container"))?;
    docker
        .start_container(name, None)
        .await
        .map_err(StartError::engine("cannot start agent container"))?;
    Ok(attached.output)
}

fn container_body(
    placement: &ContainerPlacement,
    invocation: &ContainerInvocation,
    user: &str,
) -> ContainerCreateBody {
    let mut env: Vec<String> = invocation
        .env
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "AGENTPOD_ISSUE" | "AGENTPOD_OUTPUT" | "HOME"))
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    env.push(format!("AGENTPOD_ISSUE={CONTAINER_ISSUE_PATH}"));
    env.push(format!(
        "AGENTPOD_OUTPUT={CONTAINER_OUTPUT_DIRECTORY}/{OUTPUT_FILE_NAME}"
    ));
    env.push(format!("HOME={SCRATCH_DIRECTORY}"));
    let memory = i64::try_from(invocation.memory_bytes).unwrap_or(i64::MAX);
    let bind = |source: &Path, target: &str, read_only: bool| Mount {
        source: Some(source.display().to_string()),
        target: Some(target.to_string()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(invocation.image.clone()),
        cmd: (!invocation.command.is_empty()).then(|| invocation.command.clone()),
        env: Some(env),
        user: Some(user.to_string()),
        labels: Some(placement.labels.clone()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some(placement.network.clone()),
            cap_drop: Some(vec!["ALL".to_string()]),
            security_opt: Some(vec!["no-new-privileges".to_string()]),
            readonly_rootfs: Some(true),
            tmpfs: Some(HashMap::from([(
                SCRATCH_DIRECTORY.to_string(),
                SCRATCH_OPTIONS.to_string(),
            )])),
            mounts: Some(vec![
                bind(&invocation.issue_path, CONTAINER_ISSUE_PATH, true),
                bind(&invocation.output_dir, CONTAINER_OUTPUT_DIRECTORY, false),
            ]),
            memory: Some(memory),
            // No swap: past its memory limit the agent is killed, not slowed down.
            memory_swap: Some(memory),
            nano_cpus: Some((invocation.cpus * 1e9) as i64),
            pids_limit: Some(invocation.pids),
            // A real init as PID 1: signals reach the agent (PID 1 ignores SIGTERM by
            // default) and its orphans are reaped.
            init: Some(true),
            ipc_mode: Some("private".to_string()),
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".to_string()),
                config: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The engine reports a non-zero exit as an error of the wait; either way the container ended.
async fn wait_until_ended(docker: &Docker, name: &str) -> Ending {
    let options = WaitContainerOptionsBuilder::new()
        .condition("not-running")
        .build();
    match docker.wait_container(name, Some(options)).next().await {
        Some(Ok(_)) | Some(Err(DockerError::DockerContainerWaitError { .. })) | None => {
            Ending::Exited
        }
        Some(Err(error)) => Ending::WaitFailed(error),
    }
}

async fn kill(docker: &Docker, name: &str) {
    let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
    if let Err(error) = docker.kill_container(name, Some(options)).await {
        // 409: it ended by itself in the meantime.
        tracing::debug!(%error, container = name, "cannot kill agent container");
    }
}

/// SIGTERM, then SIGKILL after a grace period, done by the engine.
async fn stop(docker: &Docker, name: &str) {
    let options = StopContainerOptionsBuilder::new()
        .t(STOP_GRACE_SECONDS)
        .build();
    if let Err(error) = docker.stop_container(name, Some(options)).await {
        tracing::debug!(%error, container = name, "cannot stop agent container");
        kill(docker, name).await;
    }
}

/// The exit code and whether the kernel killed something in the container for memory, once the
/// container no longer runs.
async fn final_state(docker: &Docker, name: &str) -> (Option<i64>, bool) {
    let _ = tokio::time::timeout(END_DEADLINE, wait_until_ended(docker, name)).await;
    match docker.inspect_container(name, None).await {
        Ok(inspection) => {
            let state = inspection.state.unwrap_or_default();
            (state.exit_code, state.oom_killed.unwrap_or(false))
        }
        Err(error) => {
            tracing::warn!(%error, container = name, "cannot inspect ended agent container");
            (None, false)
        }
    }
}

fn exit_from(ending: Ending, exit_code: Option<i64>, out_of_memory: bool) -> AgentExit {
    match ending {
        Ending::TimedOut => AgentExit::TimedOut,
        Ending::Cancelled => AgentExit::Cancelled,
        Ending::WaitFailed(error) => AgentExit::FailedToStart {
            message: format!("cannot wait for agent container: {error}"),
        },
        Ending::Exited if out_of_memory => AgentExit::Signaled { signal: 9 },
        Ending::Exited => match exit_code.and_then(|code| i32::try_from(code).ok()) {
            // The engine reports a process ended by signal N as 128 + N, like a shell.
            Some(code @ 129..=192) => AgentExit::Signaled { signal: code - 128 },
            Some(code) => AgentExit::Exited { code },
            None => AgentExit::Exited { code: -1 },
        },
    }
}

/// Splits the attached stream into stdout and stderr, keeping the head of each.
async fn capture_attached(
    mut attached: AttachedOutput,
    limit: usize,
    stop: CancellationToken,
) -> (CapturedOutput, CapturedOutput) {
    let mut stdout = OutputHead::new(limit);
    let mut stderr = OutputHead::new(limit);
    loop {
        let item = tokio::select! {
            biased;
            item = attached.next() => item,
            () = stop.cancelled() => break,
        };
        match item {
            Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                stdout.push(&message)
            }
            Some(Ok(LogOutput::StdErr { message })) => stderr.push(&message),
            Some(Ok(LogOutput::StdIn { .. })) => {}
            Some(Err(error)) => {
                tracing::debug!(%error, "cannot read agent container output");
                break;
            }
            None => break,
        }
    }
    (stdout.finish(), stderr.finish())
}

async fn drain(
    capture: JoinHandle<(CapturedOutput, CapturedOutput)>,
    stop_reading: &CancellationToken,
) -> (CapturedOutput, CapturedOutput) {
    tokio::pin!(capture);
    let joined = tokio::select! {
        joined = &mut capture => joined,
        () = tokio::time::sleep(DRAIN_GRACE) => {
            tracing::debug!("agent container output still open after it ended; keeping what was read");
            stop_reading.cancel();
            capture.await
        }
    };
    joined.unwrap_or_else(|error| {
        tracing::warn!(%error, "agent container output reader failed");
        (CapturedOutput::default(), CapturedOutput::default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_by_signal_are_read_from_the_shell_convention() {
        assert_eq!(
            exit_from(Ending::Exited, Some(137), false),
            AgentExit::Signaled { signal: 9 }
        );
        assert_eq!(
            exit_from(Ending::Exited, Some(3), false),
            AgentExit::Exited { code: 3 }
        );
        assert_eq!(
            exit_from(Ending::Exited, Some(0), true),
            AgentExit::Signaled { signal: 9 }
        );
        assert_eq!(
            exit_from(Ending::TimedOut, Some(137), false),
            AgentExit::TimedOut
        );
    }

    #[test]
    fn contract_paths_replace_what_the_caller_passed() {
        let placement = ContainerPlacement {
            network: "pod-net".to_string(),
            labels: HashMap::new(),
        };
        let invocation = ContainerInvocation {
            image: "agent:local".to_string(),
            command: Vec::new(),
            issue_path: PathBuf::from("/host/issue.json"),
            output_dir: PathBuf::from("/host/output"),
            env: vec![
                (
                    "AGENTPOD_OUTPUT".to_string(),
                    "/host/output/output.json".to_string(),
                ),
                (
                    "DATABASE_URL".to_string(),
                    "postgres://agent@db/issue".to_string(),
                ),
            ],
            timeout: Duration::from_secs(1),
            output_limit: 1,
            memory_bytes: 512 * 1024 * 1024,
            cpus: 0.5,
            pids: 64,
        };
        let body = container_body(&placement, &invocation, "65534:65534");
        let env = body.env.unwrap_or_default();
        assert!(env.contains(&"AGENTPOD_OUTPUT=/agentpod/output/output.json".to_string()));
        assert!(env.contains(&"AGENTPOD_ISSUE=/agentpod/issue.json".to_string()));
        assert!(
            !env.iter().any(|variable| variable.contains("/host/")),
            "{env:?}"
        );
        assert_eq!(body.cmd, None);
        let host = body.host_config.unwrap_or_default();
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.memory_swap, host.memory);
    }

    #[test]
    fn container_names_start_with_the_pod() {
        let labels = HashMap::from([(POD_LABEL.to_string(), "ap-run-p1-abc".to_string())]);
        let name = container_name(&labels);
        assert!(name.starts_with("ap-run-p1-abc-agent-"), "{name}");
        assert_ne!(name, container_name(&labels));
    }
}
