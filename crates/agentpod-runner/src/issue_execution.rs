//! One issue: a fresh database cloned from the pod's template, the agent started once with the
//! agent contract's environment, its answer graded, and everything that happened turned into an
//! outcome. Nothing here fails the run: every failure is this issue's outcome. With several
//! trials, each trial of an issue is such a run of its own, with its own directory and database.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentpod_agent::{
    AgentExit, AgentInvocation, AgentLaunch, AgentOutput, AgentRun, ContainerInvocation,
    HostSandbox, OUTPUT_FILE_NAME, SandboxUser,
};
use agentpod_db::PodDatabase;
use agentpod_error_chain::error_chain;
use agentpod_grade::{Check, ConversationTurn, Grade, grade_expected_outputs, grade_fields};
use agentpod_issues::Issue;
use agentpod_runtime::{LaunchedAgent, OutputArea, Pod};
use agentpod_spec::GradingSpec;
use agentpod_store::{
    BoundaryDetail, BoundaryEventKind, BoundaryEventRecord, OutcomeRecord, OutcomeStatus, OwnTime,
    StepRecord,
};
use serde_json::json;

use crate::agent_slot::AgentSlot;
use crate::boundary_records::{boundary_event_records, network_violation};
use crate::crash_line::crash_line;
use crate::error::IssuePrepareError;
use crate::issue_grading;
use crate::issue_judge;
use crate::issue_lease::{IssueLease, PodHolder};
use crate::pod_gateways::{FinishedGateways, PodGateways};
use crate::pod_worker::PodContext;
use crate::simulated_customer::{CustomerScript, SharedCustomer, SimulatedCustomer};

/// The longest reading an issue's boundary events may take; past it the issue is not observed.
const EVENTS_TIMEOUT: Duration = Duration::from_secs(20);

/// The size of an issue's output directory (a tmpfs where agentpod can mount one): the
/// largest answer agentpod reads (16 MiB) and a little room.
pub(crate) const OUTPUT_AREA_BYTES: u64 = 17 << 20;

/// The size of a sandboxed host agent's working directory (its HOME; memory-backed, and gone
/// with the issue).
const SANDBOX_SCRATCH_BYTES: u64 = 256 << 20;

/// The size of a sandboxed host agent's private `/tmp` (memory-backed).
const SANDBOX_TMP_BYTES: u64 = 256 << 20;

/// Runs one trial of one issue; returns its outcome and what the agent did at the boundary.
/// Prepare (directory, database, gateway tokens) → run the agent → grade → record; what the
/// issue holds of the pod is an [`IssueLease`], given back however the issue ends.
pub(crate) async fn run_issue(
    context: &PodContext,
    pod: &dyn Pod,
    database: &PodDatabase,
    gateways: &PodGateways,
    issue: &Issue,
    trial: u32,
    start: IssueStart<'_>,
) -> (OutcomeRecord, Vec<BoundaryEventRecord>, Vec<StepRecord>) {
    let mut outcome = new_outcome(context, issue, trial);
    let clock = Instant::now();
    let holder = PodHolder { gateways, database };
    let prepared = prepare(context, holder, issue, trial, &clock, start.slot).await;
    // The pod's work between issues may begin: the hand-out no longer competes with it.
    start.handed_out.notify_one();
    let mut prepared = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            start.agent_ended.notify_one();
            outcome.reason = error_chain(&error);
            return (outcome, Vec::new(), Vec::new());
        }
    };
    // The agent's start: `started_at` + `duration_ms` is then when it ended, as timelines and
    // the OTLP export read them.
    outcome.started_at = chrono::Utc::now() - (clock.elapsed() - prepared.ready_at);
    let LaunchedAgent {
        run: agent_run,
        refused_connections,
    } = run_agent(context, pod, &mut prepared, issue).await;
    start.agent_ended.notify_one();
    let agent_ended = clock.elapsed();
    // Time per issue is the agent's: its start to its end. The database hand-out before it and
    // the grading after it are agentpod's cost, not what production will see.
    outcome.duration_ms = (agent_ended - prepared.ready_at).as_millis() as u64;
    let FinishedGateways {
        mut steps,
        usage,
        conversation,
    } = prepared.lease.finish_gateways(&issue.id, trial);
    outcome.usage = usage;
    let (boundary_events, unobserved) =
        observe(database, &prepared, issue, trial, refused_connections).await;
    let events_read = clock.elapsed();
    let judge_steps = grade(
        context,
        (database, gateways),
        &prepared,
        (issue, &steps, &conversation),
        &agent_run,
        (&boundary_events, unobserved),
        &mut outcome,
    )
    .await;
    steps.extend(judge_steps);
    let milliseconds = |duration: Duration| duration.as_secs_f64() * 1e3;
    outcome.own_time = OwnTime {
        prepare_ms: milliseconds(prepared.ready_at),
        events_ms: milliseconds(events_read - agent_ended),
        grade_ms: milliseconds(clock.elapsed() - events_read),
    };
    record(prepared, issue, &outcome);
    (outcome, boundary_events, steps)
}

/// How an issue's agent starts — in its slot (a sandbox started ahead), or cold — and whom to
/// tell once the issue's database was handed out (the pod's work between issues waits for it)
/// and once its agent ended (that work stops waiting for what can wait).
pub(crate) struct IssueStart<'a> {
    pub(crate) slot: Option<AgentSlot>,
    pub(crate) handed_out: &'a tokio::sync::Notify,
    pub(crate) agent_ended: &'a tokio::sync::Notify,
}

/// An outcome that says the issue errored, until the issue's steps say otherwise.
fn new_outcome(context: &PodContext, issue: &Issue, trial: u32) -> OutcomeRecord {
    OutcomeRecord {
        own_time: Default::default(),
        run_id: context.plan.run_id.clone(),
        issue_id: issue.id.clone(),
        trial,
        pod_index: context.pod,
        status: OutcomeStatus::Errored,
        reason: String::new(),
        exit: serde_json::Value::Null,
        started_at: chrono::Utc::now(),
        duration_ms: 0,
        output: None,
        grade: serde_json::Value::Null,
        stdout: String::new(),
        stdout_bytes: 0,
        stdout_truncated: false,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
        usage: Default::default(),
    }
}

/// An issue ready for its agent.
struct PreparedIssue<'pod> {
    /// The issue's record in the run directory; also where its agent works unless it has a
    /// slot.
    directory: PathBuf,
    /// Where a sandboxed host agent works, its sandbox started (ahead, or here).
    slot: Option<AgentSlot>,
    /// The issue's database and gateway tokens.
    lease: IssueLease<PodHolder<'pod>>,
    /// When the database was handed out, from the issue's start: the agent's time starts here.
    ready_at: Duration,
    /// Unmounted when the issue ends, after its lease is given back (a slot has its own).
    _output_area: Option<OutputArea>,
}

impl PreparedIssue<'_> {
    /// Where the agent's paths are: its slot, or the issue's directory.
    fn agent_directory(&self) -> &Path {
        self.slot
            .as_ref()
            .map_or(self.directory.as_path(), AgentSlot::directory)
    }
}

/// The issue's directory, its output area, its database and its gateway tokens; or why the issue
/// cannot run, as its outcome's reason.
async fn prepare<'pod>(
    context: &PodContext,
    holder: PodHolder<'pod>,
    issue: &Issue,
    trial: u32,
    clock: &Instant,
    slot: Option<AgentSlot>,
) -> Result<PreparedIssue<'pod>, IssuePrepareError> {
    let directory = context
        .plan
        .run_directory
        .join("issues")
        .join(issue_directory_name(&issue.id, trial, context.plan.trials));
    let directory_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IssuePrepareError::Directory { path, source }
    };
    let issue_json = serde_json::to_vec_pretty(&issue.agent_view())
        .map_err(std::io::Error::other)
        .map_err(directory_error(&directory))?;
    let output_area = match &slot {
        Some(slot) => {
            std::fs::create_dir_all(&directory)
                .and_then(|()| std::fs::write(directory.join("issue.json"), &issue_json))
                .map_err(directory_error(&directory))?;
            slot.fill(&issue_json)
                .map_err(directory_error(slot.directory()))?;
            None
        }
        None => {
            prepare_issue_directory(&directory, &issue_json)
                .map_err(directory_error(&directory))?;
            Some(OutputArea::mount(
                &directory.join("output"),
                OUTPUT_AREA_BYTES,
            ))
        }
    };
    let customer = simulated_customer(context, issue)?;
    let issue_database = holder
        .database
        .create_issue_database(&issue.id)
        .await
        .map_err(IssuePrepareError::Database)?;
    let ready_at = clock.elapsed();
    let access = holder.gateways.register(
        &context.plan,
        &issue.id,
        &issue_database.agent_url,
        customer,
    );
    Ok(PreparedIssue {
        directory,
        slot,
        lease: IssueLease::new(holder, access, issue_database),
        ready_at,
        _output_area: output_area,
    })
}

/// The issue's simulated customer, when it has one.
fn simulated_customer(
    context: &PodContext,
    issue: &Issue,
) -> Result<Option<SharedCustomer>, IssuePrepareError> {
    let Some(script) =
        CustomerScript::of_issue(&issue.fields).map_err(IssuePrepareError::Customer)?
    else {
        return Ok(None);
    };
    let customer = SimulatedCustomer::new(
        script,
        context.plan.spec.customer.max_turns,
        context.side_models.customer.as_ref(),
        &format!("{}-customer", issue.id),
    )
    .map_err(IssuePrepareError::Customer)?;
    Ok(Some(std::sync::Arc::new(customer)))
}

/// Launches the agent with the agent contract's environment and waits for its end: a
/// sandboxed host command in its slot (its sandbox started already), any other host command
/// or an image through the pod (an image as a container on the pod's network).
async fn run_agent(
    context: &PodContext,
    pod: &dyn Pod,
    prepared: &mut PreparedIssue<'_>,
    issue: &Issue,
) -> LaunchedAgent {
    let agent_directory = prepared.agent_directory().to_path_buf();
    let mut environment = contract_environment(
        context,
        issue,
        &agent_directory,
        &prepared.lease.database().agent_url,
    );
    environment.extend(prepared.lease.gateway_environment().iter().cloned());
    let agent = &context.plan.spec.agent;
    let launch = match &agent.image {
        None => {
            let output_path = agent_directory.join("output").join(OUTPUT_FILE_NAME);
            environment.push((
                "AGENTPOD_OUTPUT".to_string(),
                output_path.display().to_string(),
            ));
            AgentLaunch::Host(AgentInvocation {
                command: context.plan.agent_command.clone(),
                working_dir: agent_directory.join("work"),
                env: environment,
                timeout: agent.timeout,
                output_limit: agent.output_limit,
                output_path,
                // A slot's agent runs in the sandbox started ahead (its user among it).
                sandbox: match &prepared.slot {
                    Some(slot) => Some(slot.sandbox().clone()),
                    None => host_sandbox(context, &agent_directory),
                },
            })
        }
        Some(image) => AgentLaunch::Image(ContainerInvocation {
            image: image.clone(),
            command: context.plan.agent_command.clone(),
            issue_path: agent_directory.join("issue.json"),
            output_dir: agent_directory.join("output"),
            // The container path sets AGENTPOD_ISSUE and AGENTPOD_OUTPUT to where it mounts them.
            env: environment
                .into_iter()
                .filter(|(name, _)| name != "AGENTPOD_ISSUE")
                .collect(),
            timeout: agent.timeout,
            output_limit: agent.output_limit,
            memory_bytes: agent.limits.memory_bytes,
            cpus: agent.limits.cpus,
            pids: agent.limits.pids,
        }),
    };
    match (&mut prepared.slot, &launch) {
        (Some(slot), AgentLaunch::Host(invocation)) => LaunchedAgent {
            run: slot.run(invocation, context.interrupt.drain_token()).await,
            refused_connections: 0,
        },
        _ => {
            pod.launch_agent(&launch, context.interrupt.drain_token())
                .await
        }
    }
}

/// The sandbox of a host agent whose paths are in `agent_directory` (its output directory
/// writable, its working directory a private scratch, its issue file read-only); `None` for
/// `isolation: none`.
pub(crate) fn host_sandbox(context: &PodContext, agent_directory: &Path) -> Option<HostSandbox> {
    let agent = &context.plan.spec.agent;
    context.plan.host_sandbox.as_ref().map(|view| HostSandbox {
        read_only: view.read_only.clone(),
        hidden: view.hidden.clone(),
        writable: vec![agent_directory.join("output")],
        scratch: vec![agent_directory.join("work")],
        scratch_bytes: SANDBOX_SCRATCH_BYTES,
        issue_file: agent_directory.join("issue.json"),
        user: SandboxUser::for_issue(),
        tmp_bytes: SANDBOX_TMP_BYTES,
        max_processes: u64::try_from(agent.limits.pids).unwrap_or(u64::MAX),
        memory_bytes: agent.limits.memory_bytes,
        cpus: agent.limits.cpus,
    })
}

/// What the agent did at the boundary: its changes, proposals and violations, and the network
/// packets the pod refused; with why the issue was not observed, when its events could not be
/// read completely.
async fn observe(
    database: &PodDatabase,
    prepared: &PreparedIssue<'_>,
    issue: &Issue,
    trial: u32,
    refused_connections: u64,
) -> (Vec<BoundaryEventRecord>, Option<String>) {
    let issue_database = prepared.lease.database();
    // Read before the database goes: the changes and proposals live in it.
    // An issue whose events cannot be read completely was not observed: it fails, whatever
    // its answer, so that hiding one's traces (flooding the log, a session that will not end)
    // never pays.
    // Bounded: a server that went away mid-issue can leave its connections hanging.
    let collected = tokio::time::timeout(
        EVENTS_TIMEOUT,
        database.collect_boundary_events(issue_database),
    )
    .await;
    let (mut boundary_events, unobserved) = match collected {
        Ok(Ok(events)) => (boundary_event_records(&issue.id, trial, events), None),
        Ok(Err(error)) => {
            let error = error_chain(&error);
            tracing::warn!(issue = %issue.id, %error, "cannot collect the issue's boundary events");
            (Vec::new(), Some(error))
        }
        Err(_) => (
            Vec::new(),
            Some(format!(
                "the issue's boundary events could not be read within {}s",
                EVENTS_TIMEOUT.as_secs()
            )),
        ),
    };
    if refused_connections > 0 {
        // The pod's firewall refused the agent container's attempts to leave its pod.
        boundary_events.push(network_violation(&issue.id, trial, refused_connections));
    }
    (boundary_events, unobserved)
}

/// Fills the outcome from the agent's run and the spec's graders; returns the judge's calls, as
/// steps of the issue.
async fn grade(
    context: &PodContext,
    (database, gateways): (&PodDatabase, &PodGateways),
    prepared: &PreparedIssue<'_>,
    (issue, steps, conversation): (&Issue, &[StepRecord], &[ConversationTurn]),
    agent_run: &AgentRun,
    (boundary_events, unobserved): (&[BoundaryEventRecord], Option<String>),
    outcome: &mut OutcomeRecord,
) -> Vec<StepRecord> {
    let mut extra_steps = Vec::new();
    let issue_database = prepared.lease.database();
    let grading = &context.plan.spec.grading;
    let said_to_customer: Vec<String> =
        conversation.iter().map(|turn| turn.agent.clone()).collect();
    fill_from_agent_run(
        outcome,
        agent_run,
        (issue, &said_to_customer),
        context.plan.spec.agent.timeout,
        grading,
    );
    // Graded answers also face the spec's other graders; an agent that errored, or that was
    // not observed (and fails below), is not graded.
    if unobserved.is_none()
        && matches!(
            outcome.status,
            OutcomeStatus::Passed | OutcomeStatus::Failed
        )
    {
        let mut checks = issue_grading::database_checks(
            grading,
            database,
            gateways.tools(),
            issue_database,
            issue,
        )
        .await;
        checks.extend(issue_grading::tool_call_check(grading, issue, steps));
        let violations = boundary_events
            .iter()
            .filter(|event| event.kind() == BoundaryEventKind::Violation)
            .count();
        checks.extend(issue_grading::limit_checks(
            grading,
            violations,
            outcome.usage.budget_stops,
        ));
        let mut judged = None;
        if let (Some(judge), Some(client), Some(answer)) = (
            &context.plan.spec.judge,
            &context.side_models.judge,
            outcome.output.as_ref(),
        ) {
            let work = (answer, conversation, steps);
            let trial = issue_judge::judge_trial(judge, client, (issue, outcome.trial), work).await;
            checks.push(trial.check.clone());
            judged = Some(trial);
        }
        add_checks(outcome, checks, boundary_events);
        if let Some(trial) = judged {
            extra_steps = trial.record_into(outcome);
        }
    }
    if let Some(error) = unobserved
        && outcome.status != OutcomeStatus::Interrupted
    {
        outcome.status = OutcomeStatus::Errored;
        outcome.reason = format!("not observed: {error}");
    }
    extra_steps
}

/// The issue's end: its lease given back, and where its time went.
fn record(prepared: PreparedIssue<'_>, issue: &Issue, outcome: &OutcomeRecord) {
    let PreparedIssue {
        lease,
        _output_area,
        ..
    } = prepared;
    lease.release();
    // Where an issue's time goes, for profiling agentpod's own share
    // (`RUST_LOG=agentpod_runner=debug`; `scripts/bench-throughput` sums these). The agent's
    // time here is the process's, start to reaped, as the runner saw it.
    let own = &outcome.own_time;
    tracing::debug!(
        issue = %issue.id,
        prepare_ms = own.prepare_ms,
        agent_ms = outcome.duration_ms as f64,
        events_ms = own.events_ms,
        grade_ms = own.grade_ms,
        "issue phases"
    );
}

/// Adds the further graders' checks to the answer's grade: the issue passes only if all pass.
/// Crossing the boundary fails it whatever the answer was — an agent that tried to write where
/// it may not is not ready, even when the attempt was refused — and the reason says so first.
fn add_checks(outcome: &mut OutcomeRecord, checks: Vec<Check>, events: &[BoundaryEventRecord]) {
    if checks.is_empty() {
        return;
    }
    let mut grade: Grade = Grade {
        checks: serde_json::from_value(outcome.grade["checks"].clone()).unwrap_or_default(),
    };
    grade.checks.extend(checks);
    outcome.grade = grade_json(&grade);
    let violations: Vec<&BoundaryEventRecord> = events
        .iter()
        .filter(|event| event.kind() == BoundaryEventKind::Violation)
        .collect();
    let violation_failed = grade
        .checks
        .iter()
        .any(|check| check.name == "boundary violations" && !check.passed);
    if grade.passed() {
        outcome.status = OutcomeStatus::Passed;
        outcome.reason = grade.explain();
    } else if violation_failed && let Some(first) = violations.first() {
        outcome.status = OutcomeStatus::Failed;
        let error = match &first.detail {
            BoundaryDetail::Violation(violation) if !violation.error.is_empty() => &violation.error,
            _ => "refused",
        };
        outcome.reason = format!(
            "boundary violation{}: {error}",
            if violations.len() > 1 {
                format!(" (1 of {})", violations.len())
            } else {
                String::new()
            }
        );
    } else {
        outcome.status = OutcomeStatus::Failed;
        outcome.reason = grade.explain();
    }
}

/// The agent contract (DESIGN.md): these variables and nothing else of the host (the agent
/// crate adds PATH and HOME; the pod's gateways add theirs, see `PodGateways::register`).
fn contract_environment(
    context: &PodContext,
    issue: &Issue,
    issue_directory: &Path,
    database_url: &str,
) -> Vec<(String, String)> {
    let mut environment: Vec<(String, String)> =
        context.plan.spec.agent.env.clone().into_iter().collect();
    environment.extend([
        (
            "AGENTPOD_ISSUE".to_string(),
            issue_directory.join("issue.json").display().to_string(),
        ),
        ("DATABASE_URL".to_string(), database_url.to_string()),
        ("AGENTPOD_RUN_ID".to_string(), context.plan.run_id.clone()),
        ("AGENTPOD_ISSUE_ID".to_string(), issue.id.clone()),
        (
            "AGENTPOD_AGENT_VERSION".to_string(),
            context.plan.agent_version.clone(),
        ),
    ]);
    environment
}

fn prepare_issue_directory(directory: &Path, issue_json: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(directory.join("work"))?;
    std::fs::create_dir_all(directory.join("output"))?;
    std::fs::write(directory.join("issue.json"), issue_json)?;
    // An attempt starts from nothing an earlier attempt (on a pod that was lost) left: a stale
    // answer must never be graded as this attempt's, and its files belong to another user.
    for scratch in ["work", "output"] {
        let path = directory.join(scratch);
        std::fs::remove_dir_all(&path)?;
        std::fs::create_dir_all(&path)?;
    }
    Ok(())
}

fn fill_from_agent_run(
    outcome: &mut OutcomeRecord,
    run: &AgentRun,
    (issue, said_to_customer): (&Issue, &[String]),
    timeout: std::time::Duration,
    grading: &GradingSpec,
) {
    outcome.exit = serde_json::to_value(&run.exit).unwrap_or_default();
    outcome.stdout = run.stdout.text.clone();
    outcome.stdout_bytes = run.stdout.total_bytes;
    outcome.stdout_truncated = run.stdout.truncated;
    outcome.stderr = run.stderr.text.clone();
    outcome.stderr_bytes = run.stderr.total_bytes;
    outcome.stderr_truncated = run.stderr.truncated;
    if let AgentOutput::Valid(value) = &run.output {
        outcome.output = Some(value.clone());
    }

    let (status, reason) = match (&run.exit, &run.output) {
        (AgentExit::Cancelled, _) => (
            OutcomeStatus::Interrupted,
            "interrupted: the run was stopped".to_string(),
        ),
        (AgentExit::FailedToStart { message }, _) => (
            OutcomeStatus::Errored,
            format!("agent failed to start: {message}"),
        ),
        (AgentExit::TimedOut, _) => (
            OutcomeStatus::Errored,
            format!("timed out after {}", humanize(timeout)),
        ),
        (AgentExit::Signaled { signal }, _) => (
            OutcomeStatus::Errored,
            format!(
                "agent was killed by signal {signal}{}",
                signal_name(*signal)
            ),
        ),
        (AgentExit::Exited { code }, _) if *code != 0 => (
            OutcomeStatus::Errored,
            format!("agent exited with code {code}{}", crash_reason_suffix(run)),
        ),
        (AgentExit::Exited { .. }, AgentOutput::Missing) => (
            OutcomeStatus::Errored,
            "agent wrote no output (AGENTPOD_OUTPUT)".to_string(),
        ),
        (AgentExit::Exited { .. }, AgentOutput::Malformed { message }) => (
            OutcomeStatus::Errored,
            format!("agent output is malformed: {message}"),
        ),
        (AgentExit::Exited { .. }, AgentOutput::Valid(answer)) => {
            let mut checks = grade_fields(issue.expected.as_ref(), answer, &grading.fields);
            checks.extend(grade_expected_outputs(
                issue.expected_outputs(),
                answer,
                said_to_customer,
            ));
            let grade = Grade { checks };
            outcome.grade = grade_json(&grade);
            let status = if grade.passed() {
                OutcomeStatus::Passed
            } else {
                OutcomeStatus::Failed
            };
            (status, grade.explain())
        }
    };
    outcome.status = status;
    outcome.reason = reason;
}

fn grade_json(grade: &Grade) -> serde_json::Value {
    json!({ "passed": grade.passed(), "checks": grade.checks })
}

/// `: ` and the line of the agent's stderr that says why it crashed, or nothing.
fn crash_reason_suffix(run: &AgentRun) -> String {
    crash_line(&run.stderr.text)
        .map(|line| format!(": {line}"))
        .unwrap_or_default()
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

fn humanize(duration: std::time::Duration) -> String {
    let milliseconds = duration.as_millis();
    if milliseconds.is_multiple_of(1000) {
        format!("{}s", milliseconds / 1000)
    } else {
        format!("{milliseconds}ms")
    }
}

/// An issue trial's directory under the run's `issues/`: the issue's id for a run of one trial
/// (as before trials existed), `<id>.trial-<n>` for every trial of a run of several, so trials
/// never share a directory and a run's layout does not depend on which trial ran first.
fn issue_directory_name(id: &str, trial: u32, trials: u32) -> PathBuf {
    let safe = file_safe(id);
    if trials <= 1 {
        safe
    } else {
        PathBuf::from(format!("{}.trial-{trial}", safe.display()))
    }
}

/// Issue ids come from users' files; only some characters are safe in a directory name. An id
/// that had to change gets a digest of itself appended, so two ids that read the same once made
/// safe (`T 1`, `T/1`, `T_1`) never share a directory, an issue file or an answer.
fn file_safe(id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || "-_.".contains(character) {
                character
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    PathBuf::from(if safe == id {
        safe
    } else {
        format!("{safe}-{:016x}", fnv1a(id.as_bytes()))
    })
}

/// FNV-1a, 64 bits: stable across builds and machines, which a directory name must be for a
/// resumed run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_ids_become_safe_directory_names() {
        assert_eq!(file_safe("T-1042"), PathBuf::from("T-1042"));
        let escaping = file_safe("../etc/passwd").display().to_string();
        assert!(escaping.starts_with("_.._etc_passwd-"), "{escaping}");
        assert!(!escaping.contains('/'));
        assert!(
            file_safe("a b/c")
                .display()
                .to_string()
                .starts_with("a_b_c-")
        );
        // Ids that read the same once made safe keep directories of their own.
        let names: std::collections::BTreeSet<PathBuf> = ["T 1", "T/1", "T_1", "T:1"]
            .into_iter()
            .map(file_safe)
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert_eq!(file_safe("T_1"), PathBuf::from("T_1"));
    }

    #[test]
    fn trials_of_one_issue_get_directories_of_their_own() {
        assert_eq!(issue_directory_name("T-1", 1, 1), PathBuf::from("T-1"));
        assert_eq!(
            issue_directory_name("T-1", 1, 3),
            PathBuf::from("T-1.trial-1")
        );
        let other = issue_directory_name("a/b", 3, 3).display().to_string();
        assert!(
            other.starts_with("a_b-") && other.ends_with(".trial-3"),
            "{other}"
        );
    }
}
