//! `RunSummary`: what a run comes to — counts, pass rate, time per issue, wall time — built from
//! the stored outcomes, so a summary printed at the end of a run and one rebuilt later by
//! `agentpod show` are the same. In a run of several trials per issue (`--trials K`) the counts
//! are of issue trials, and pass^k says how many issues passed every trial.

use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, OutcomeRecord, OutcomeStatus, OwnTime, RunRecord,
};
use serde::{Deserialize, Serialize};

use crate::figures::distribution::Distribution;

/// Counts of issue trials by how they ended; with one trial per issue, simply of issues.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueCounts {
    /// Issues in the sample.
    pub sampled: usize,
    /// Issue trials the run meant to do: `sampled` × the run's trials.
    pub trials: usize,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub interrupted: usize,
    /// Lost to the pod, not the agent (its Postgres went away); excluded from the pass rate.
    pub infrastructure_errors: usize,
    /// Issue trials never started (the run was interrupted or failed first).
    pub not_run: usize,
}

/// pass^k: issues that passed every one of their trials, over issues with a finished trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassAllTrials {
    pub passed_issues: usize,
    pub finished_issues: usize,
    pub rate: f64,
}

/// An issue worth a line in the summary: why it failed or errored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueNote {
    pub issue_id: String,
    pub trial: u32,
    pub status: OutcomeStatus,
    pub reason: String,
    pub seconds: f64,
}

/// What the agent did at the AI-writable boundary over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoundarySummary {
    /// Rows changed in writable tables.
    pub changes: usize,
    /// Writes to approval tables, recorded for a human.
    pub proposals: usize,
    /// Refused attempts to cross the boundary.
    pub violations: usize,
    /// Issues with at least one violation.
    pub issues_with_violations: usize,
    /// Up to a few of each, for people: `issue: table operation` or `issue: error`.
    pub proposal_notes: Vec<BoundaryNote>,
    pub violation_notes: Vec<BoundaryNote>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryNote {
    pub issue_id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub spec: String,
    pub agent_version: String,
    pub runtime: String,
    pub pods: usize,
    pub seed: u64,
    /// Trials per issue (`--trials K`); 1 for a plain run.
    pub trials: u32,
    pub status: String,
    pub issues: IssueCounts,
    /// Passed over finished issue trials (passed + failed + errored); `None` when none finished.
    pub pass_rate: Option<f64>,
    /// pass^k, for a run of several trials per issue with a finished trial.
    pub pass_all_trials: Option<PassAllTrials>,
    /// Seconds per finished issue, from agent start to agent end, less the time its model calls
    /// were throttled by the provider (`OutcomeRecord::agent_ms`; the throttling is in
    /// `usage.throttling`).
    pub seconds_per_issue: Option<Distribution>,
    /// agentpod's own milliseconds per issue trial around the agent; `None` when no outcome
    /// measured it (runs recorded before it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_time: Option<OwnTimeSummary>,
    /// Seconds from the run's start to its end (or to the last outcome, for a run that died).
    pub wall_seconds: f64,
    pub boundary: BoundarySummary,
    /// Cost, tokens, model and tool calls per issue, from the gateways.
    pub usage: crate::figures::usage_summary::UsageSummary,
    pub errored: Vec<IssueNote>,
    pub failed: Vec<IssueNote>,
    /// `false` when the agent ran unsandboxed (`agent.isolation: none`): it could have read
    /// the answers, so the pass rate is not evidence.
    pub verdict_protected: bool,
    /// How the run was spread over machines: a shard's part, or a merged run's shards;
    /// `None` for a run on one machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<RunSpread>,
}

/// How a run was spread over machines (`run --shard K/N`, `merge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpread {
    pub group: String,
    /// How many parts the run was split into.
    pub shards: u32,
    /// This run's part, for a shard; `None` for a merged run.
    pub part: Option<u32>,
    /// The machines (hostnames) the shards ran on, each once, in part order.
    pub machines: Vec<String>,
    /// Each shard of a merged run, by part; for a shard, itself.
    pub per_shard: Vec<ShardTime>,
    /// The part whose wall time was longest (what the whole run waited for).
    pub slowest_part: Option<u32>,
}

/// One shard's machine and wall time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardTime {
    pub part: u32,
    pub host: String,
    pub run_id: String,
    /// Issue trials it recorded.
    pub trials: usize,
    /// From its start to its end; `None` while it runs.
    pub wall_seconds: Option<f64>,
}

impl RunSpread {
    /// From the run's record; `outcomes`: how many a shard has recorded.
    pub fn of(run: &RunRecord, outcomes: usize) -> Option<Self> {
        let sharding = run.sharding.as_ref()?;
        let per_shard: Vec<ShardTime> = if let Some(part) = sharding.part {
            vec![ShardTime {
                part,
                host: sharding.host.clone(),
                run_id: run.id.clone(),
                trials: outcomes,
                wall_seconds: run.finished_at.map(|end| {
                    agentpod_store::shard_wall_seconds(run.started_at, end, sharding.idle_ms)
                }),
            }]
        } else {
            sharding
                .shards
                .iter()
                .map(|shard| ShardTime {
                    part: shard.part,
                    host: shard.host.clone(),
                    run_id: shard.source_run_id.clone(),
                    trials: shard.trials,
                    wall_seconds: shard.wall_seconds(),
                })
                .collect()
        };
        let mut machines: Vec<String> = Vec::new();
        for shard in &per_shard {
            if !machines.contains(&shard.host) {
                machines.push(shard.host.clone());
            }
        }
        let slowest_part = per_shard
            .iter()
            .filter_map(|shard| Some((shard.part, shard.wall_seconds?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(part, _)| part);
        Some(RunSpread {
            group: sharding.group.clone(),
            shards: sharding.parts,
            part: sharding.part,
            machines,
            per_shard,
            slowest_part,
        })
    }
}

/// agentpod's own time per issue trial, in milliseconds: the whole, and the median of each phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnTimeSummary {
    pub total_ms: Distribution,
    pub prepare_ms_median: f64,
    pub events_ms_median: f64,
    pub grade_ms_median: f64,
}

impl OwnTimeSummary {
    /// Over the outcomes that measured it.
    fn of(outcomes: &[OutcomeRecord]) -> Option<Self> {
        let measured: Vec<&OwnTime> = outcomes
            .iter()
            .map(|outcome| &outcome.own_time)
            .filter(|own| !own.is_zero())
            .collect();
        let phase = |pick: fn(&OwnTime) -> f64| {
            let values: Vec<f64> = measured.iter().map(|own| pick(own)).collect();
            Distribution::of(&values).map_or(0.0, |distribution| distribution.median)
        };
        let totals: Vec<f64> = measured.iter().map(|own| own.total_ms()).collect();
        Some(OwnTimeSummary {
            total_ms: Distribution::of(&totals)?,
            prepare_ms_median: phase(|own| own.prepare_ms),
            events_ms_median: phase(|own| own.events_ms),
            grade_ms_median: phase(|own| own.grade_ms),
        })
    }
}

/// Builds the summary of `run` from its outcomes and boundary events.
pub fn summarize(
    run: &RunRecord,
    outcomes: &[OutcomeRecord],
    boundary_events: &[BoundaryEventRecord],
) -> RunSummary {
    let trials = run.trials.max(1);
    // A shard means to do only its part's pairs.
    let planned = run.issue_count * trials as usize;
    let planned = match run
        .sharding
        .as_ref()
        .and_then(|sharding| sharding.shard_part())
    {
        Some(part) => part.share_of(planned),
        None => planned,
    };
    let mut counts = IssueCounts {
        sampled: run.issue_count,
        trials: planned,
        ..IssueCounts::default()
    };
    let mut seconds = Vec::new();
    let mut errored = Vec::new();
    let mut failed = Vec::new();
    for outcome in outcomes {
        let issue_seconds = outcome.agent_ms() as f64 / 1000.0;
        let note = || IssueNote {
            issue_id: outcome.issue_id.clone(),
            trial: outcome.trial,
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
            OutcomeStatus::InfrastructureError => {
                counts.infrastructure_errors += 1;
                errored.push(note());
            }
        }
        if matches!(
            outcome.status,
            OutcomeStatus::Passed | OutcomeStatus::Failed | OutcomeStatus::Errored
        ) {
            seconds.push(issue_seconds);
        }
    }
    counts.not_run = counts.trials.saturating_sub(outcomes.len());
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
        trials,
        status: run.status.as_str().to_string(),
        issues: counts,
        pass_rate: (finished > 0).then(|| outcomes_passed(outcomes) as f64 / finished as f64),
        pass_all_trials: (trials > 1)
            .then(|| pass_all_trials(outcomes, trials))
            .flatten(),
        seconds_per_issue: Distribution::of(&seconds),
        own_time: OwnTimeSummary::of(outcomes),
        boundary: summarize_boundary(boundary_events),
        usage: crate::figures::usage_summary::summarize_usage(outcomes),
        wall_seconds: (end - run.started_at).num_milliseconds().max(0) as f64 / 1000.0,
        errored,
        failed,
        verdict_protected: !run.unprotected,
        spread: RunSpread::of(run, outcomes.len()),
    }
}

/// pass^k over the issues whose answer is decided: all `k` trials finished, or a finished trial
/// already failed; an issue with trials still to run and none failed yet is left out rather than
/// counted as passing every trial. The analysis crate's report uses it too, so `show` and
/// `report` agree.
pub fn pass_all_trials(outcomes: &[OutcomeRecord], k: u32) -> Option<PassAllTrials> {
    // Per issue: finished trials, and whether every one of them passed.
    let mut issues: std::collections::HashMap<&str, (u32, bool)> = Default::default();
    for outcome in outcomes {
        let passed = match outcome.status {
            OutcomeStatus::Passed => true,
            OutcomeStatus::Failed | OutcomeStatus::Errored => false,
            OutcomeStatus::Interrupted | OutcomeStatus::InfrastructureError => continue,
        };
        let (finished, all_passed) = issues.entry(outcome.issue_id.as_str()).or_insert((0, true));
        *finished += 1;
        *all_passed &= passed;
    }
    let decided = issues
        .values()
        .filter(|(finished, all_passed)| *finished >= k || !all_passed)
        .count();
    let passed_issues = issues
        .values()
        .filter(|(finished, all_passed)| *finished >= k && *all_passed)
        .count();
    (decided > 0).then(|| PassAllTrials {
        passed_issues,
        finished_issues: decided,
        rate: passed_issues as f64 / decided as f64,
    })
}

fn outcomes_passed(outcomes: &[OutcomeRecord]) -> usize {
    outcomes
        .iter()
        .filter(|outcome| outcome.status == OutcomeStatus::Passed)
        .count()
}

fn summarize_boundary(events: &[BoundaryEventRecord]) -> BoundarySummary {
    let mut summary = BoundarySummary::default();
    let mut issues_with_violations = std::collections::BTreeSet::new();
    for event in events {
        match &event.detail {
            BoundaryDetail::Change(_) => summary.changes += 1,
            BoundaryDetail::Proposal(proposal) => {
                summary.proposals += 1;
                summary.proposal_notes.push(BoundaryNote {
                    issue_id: event.issue_id.clone(),
                    text: format!(
                        "{} {} ({})",
                        proposal.operation,
                        event.table().unwrap_or("?"),
                        proposal.status
                    ),
                });
            }
            BoundaryDetail::Violation(violation) => {
                summary.violations += 1;
                issues_with_violations.insert(event.issue_id.clone());
                summary.violation_notes.push(BoundaryNote {
                    issue_id: event.issue_id.clone(),
                    text: violation.error.clone(),
                });
            }
        }
    }
    summary.issues_with_violations = issues_with_violations.len();
    summary
}
