//! The rows of the run store, as Rust types.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::run_sharding::RunSharding;

/// A run as it starts.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: String,
    pub spec_name: String,
    pub spec_path: String,
    pub agent_version: String,
    pub runtime: String,
    pub pods: usize,
    pub seed: u64,
    /// How many times each issue runs (`--trials K`); 1 for a plain run.
    pub trials: u32,
    pub started_at: DateTime<Utc>,
    pub spec_json: serde_json::Value,
    /// The sampled issues in order: (issue id, issue as JSON).
    pub issues: Vec<(String, serde_json::Value)>,
    /// The evaluation set the sample was drawn from; `None` when its file could not be read
    /// again to take its digest.
    pub evaluation_set: Option<EvaluationSet>,
    /// The run's part and group when it is one shard of a run spread over machines
    /// (`--shard K/N`); `None` for a run on one machine.
    pub sharding: Option<RunSharding>,
}

/// The version of an evaluation set: the SHA-256 of its issues file's bytes, and how many issues
/// the file holds. Runs with the same digest drew from the same issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EvaluationSet {
    /// Lowercase hex.
    pub sha256: String,
    pub issues: usize,
}

impl EvaluationSet {
    /// The digest's first 12 hex digits, as reports show it (like a short git commit).
    pub fn short_digest(&self) -> &str {
        self.sha256.get(..12).unwrap_or(&self.sha256)
    }

    /// `sha256:ab12cd34ef56 (300 issues)`.
    pub fn label(&self) -> String {
        format!(
            "sha256:{} ({} issue{})",
            self.short_digest(),
            self.issues,
            if self.issues == 1 { "" } else { "s" }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Finished,
    Interrupted,
    Failed,
    /// The run's cost budget (`budgets.max_run_cost_usd`) was reached: issues not started were
    /// left for `--resume`.
    BudgetReached,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
            RunStatus::BudgetReached => "budget_reached",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "running" => RunStatus::Running,
            "finished" => RunStatus::Finished,
            "interrupted" => RunStatus::Interrupted,
            "failed" => RunStatus::Failed,
            "budget_reached" => RunStatus::BudgetReached,
            _ => return None,
        })
    }
}

/// A run as stored.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub spec_name: String,
    pub spec_path: String,
    pub agent_version: String,
    pub runtime: String,
    pub pods: usize,
    pub seed: u64,
    pub issue_count: usize,
    /// How many times each issue runs; runs bundled before trials existed read as 1.
    #[serde(default = "first_trial")]
    pub trials: u32,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub summary: Option<serde_json::Value>,
    /// The spec ran a host agent with `agent.isolation: none`: it could read agentpod's files
    /// and processes, so its verdict is not protected. Every report says so.
    #[serde(default)]
    pub unprotected: bool,
    /// The evaluation set the run sampled from; `None` for runs recorded before sets were
    /// versioned.
    #[serde(default)]
    pub evaluation_set: Option<EvaluationSet>,
    /// For a shard (`--shard K/N`): its part, group and fingerprints; for a run merged from
    /// shards (`agentpod merge`): its group and the shards it was made from; `None` for a run
    /// on one machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharding: Option<RunSharding>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The agent answered and the graders agreed.
    Passed,
    /// The agent answered and a grader disagreed.
    Failed,
    /// The agent crashed, hung, or gave no usable answer; or the pod could not serve the issue.
    Errored,
    /// The run was interrupted while this issue was in flight.
    Interrupted,
    /// The pod failed under the issue (its Postgres went away); not the agent's doing. The pod
    /// is replaced, and `--resume` runs the issue again.
    InfrastructureError,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Passed => "passed",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::Errored => "errored",
            OutcomeStatus::Interrupted => "interrupted",
            OutcomeStatus::InfrastructureError => "infrastructure_error",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "passed" => OutcomeStatus::Passed,
            "failed" => OutcomeStatus::Failed,
            "errored" => OutcomeStatus::Errored,
            "interrupted" => OutcomeStatus::Interrupted,
            "infrastructure_error" => OutcomeStatus::InfrastructureError,
            _ => return None,
        })
    }
}

/// One (issue, trial) of a run that has no finished outcome yet: what `--resume` runs again.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTrial {
    pub issue_id: String,
    pub trial: u32,
    /// The issue as the run stored it.
    pub issue: serde_json::Value,
}

/// The trial of a record written before trials existed (serde default).
pub(crate) fn first_trial() -> u32 {
    1
}

/// What happened to one trial of one issue.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct OutcomeRecord {
    pub run_id: String,
    pub issue_id: String,
    /// Which of the run's trials of the issue this is, from 1; older bundles read as 1.
    #[serde(default = "first_trial")]
    pub trial: u32,
    pub pod_index: usize,
    pub status: OutcomeStatus,
    /// One line a person reads first: why it passed, failed or errored.
    pub reason: String,
    /// How the agent process ended (JSON of the agent crate's exit type).
    pub exit: serde_json::Value,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub output: Option<serde_json::Value>,
    pub grade: serde_json::Value,
    pub stdout: String,
    pub stdout_bytes: u64,
    pub stdout_truncated: bool,
    pub stderr: String,
    pub stderr_bytes: u64,
    pub stderr_truncated: bool,
    /// Model calls, tool calls, tokens and cost, as the gateways counted them.
    pub usage: crate::step::IssueUsage,
    /// agentpod's own time around the agent; zero in runs recorded before it was measured.
    #[serde(default, skip_serializing_if = "OwnTime::is_zero")]
    pub own_time: OwnTime,
}

/// agentpod's own time around one trial's agent, in milliseconds: not the agent's time
/// (`duration_ms` is) and not what production will see, but what a run spends per issue beyond
/// the agents, shown so a slow grader or hand-out is seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct OwnTime {
    /// The issue's directory, database and gateway tokens, before the agent starts.
    pub prepare_ms: f64,
    /// Reading what the agent did at the boundary, after it ended.
    pub events_ms: f64,
    /// Grading: the answer's fields, SQL assertions, the gold actions' replay and comparison.
    pub grade_ms: f64,
}

impl OwnTime {
    /// All three phases.
    #[must_use]
    pub fn total_ms(&self) -> f64 {
        self.prepare_ms + self.events_ms + self.grade_ms
    }

    /// Not measured (a run recorded before agentpod measured it).
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.total_ms() == 0.0
    }
}

impl OutcomeRecord {
    /// The agent's own time: `duration_ms` less the time its model calls were throttled by the
    /// provider (queued for the run's limits, backing off between retries). Throttled calls in
    /// parallel each count their own wait, so the result is floored at zero.
    pub fn agent_ms(&self) -> u64 {
        let throttled = self.usage.throttled_ms.max(0.0).round() as u64;
        self.duration_ms.saturating_sub(throttled)
    }
}
