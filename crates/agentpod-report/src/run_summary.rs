//! `RunSummary`: what a run comes to — counts, pass rate, time per issue, wall time — built from
//! the stored outcomes, so a summary printed at the end of a run and one rebuilt later by
//! `agentpod show` are the same.

use agentpod_store::{OutcomeRecord, OutcomeStatus, RunRecord};
use serde::Serialize;

use crate::distribution::Distribution;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IssueCounts {
    pub sampled: usize,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub interrupted: usize,
    /// Sampled but never started (the run was interrupted or failed first).
    pub not_run: usize,
}

/// An issue worth a line in the summary: why it failed or errored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueNote {
    pub issue_id: String,
    pub status: OutcomeStatus,
    pub reason: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub spec: String,
    pub agent_version: String,
    pub runtime: String,
    pub pods: usize,
    pub seed: u64,
    pub status: String,
    pub issues: IssueCounts,
    /// Passed over finished issues (passed + failed + errored); `None` when none finished.
    pub pass_rate: Option<f64>,
    /// Seconds per finished issue, from agent start to agent end.
    pub seconds_per_issue: Option<Distribution>,
    /// Seconds from the run's start to its end (or to the last outcome, for a run that died).
    pub wall_seconds: f64,
    pub errored: Vec<IssueNote>,
    pub failed: Vec<IssueNote>,
}

/// Builds the summary of `run` from its outcomes.
pub fn summarize(run: &RunRecord, outcomes: &[OutcomeRecord]) -> RunSummary {
    let mut counts = IssueCounts {
        sampled: run.issue_count,
        ..IssueCounts::default()
    };
    let mut seconds = Vec::new();
    let mut errored = Vec::new();
    let mut failed = Vec::new();
    for outcome in outcomes {
        let issue_seconds = outcome.duration_ms as f64 / 1000.0;
        let note = || IssueNote {
            issue_id: outcome.issue_id.clone(),
            status: outcome.status,
            reason: outcome.reason.clone(),
            seconds: issue_seconds,
        };
        match outcome.status {
            OutcomeStatus::Passed => counts.passed += 1,
            OutcomeStatus::Failed => {
                counts.failed += 1;
                failed.push(note());
            }
            OutcomeStatus::Errored => {
                counts.errored += 1;
                errored.push(note());
            }
            OutcomeStatus::Interrupted => counts.interrupted += 1,
        }
        if outcome.status != OutcomeStatus::Interrupted {
            seconds.push(issue_seconds);
        }
    }
    counts.not_run = counts.sampled.saturating_sub(outcomes.len());
    let finished = counts.passed + counts.failed + counts.errored;
    let last_outcome_end = outcomes
        .iter()
        .map(|outcome| {
            outcome.started_at + chrono::Duration::milliseconds(outcome.duration_ms as i64)
        })
        .max();
    let end = run
        .finished_at
        .or(last_outcome_end)
        .unwrap_or(run.started_at);
    RunSummary {
        run_id: run.id.clone(),
        spec: run.spec_name.clone(),
        agent_version: run.agent_version.clone(),
        runtime: run.runtime.clone(),
        pods: run.pods,
        seed: run.seed,
        status: run.status.as_str().to_string(),
        issues: counts,
        pass_rate: (finished > 0).then(|| outcomes_passed(outcomes) as f64 / finished as f64),
        seconds_per_issue: Distribution::of(&seconds),
        wall_seconds: (end - run.started_at).num_milliseconds().max(0) as f64 / 1000.0,
        errored,
        failed,
    }
}

fn outcomes_passed(outcomes: &[OutcomeRecord]) -> usize {
    outcomes
        .iter()
        .filter(|outcome| outcome.status == OutcomeStatus::Passed)
        .count()
}
