//! Runs with known outcomes, built in code.

use agentpod_report::RunInput;
use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, IssueUsage, ModelCallDetail, OutcomeRecord, OutcomeStatus,
    ProposalDetail, RowChangeDetail, RunRecord, RunStatus, StepDetail, StepRecord, TokenCounts,
    ToolCallDetail, ToolCallOutcome, ViolationDetail,
};
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

pub fn run_record(id: &str, agent_version: &str, issue_count: usize) -> RunRecord {
    let started_at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    RunRecord {
        id: id.into(),
        spec_name: "support-triage".into(),
        spec_path: "pods/support-triage.yaml".into(),
        agent_version: agent_version.into(),
        runtime: "docker".into(),
        pods: 2,
        seed: 7,
        issue_count,
        trials: 1,
        status: RunStatus::Finished,
        started_at,
        finished_at: Some(started_at + Duration::seconds(90)),
        summary: None,
        unprotected: false,
        evaluation_set: None,
        sharding: None,
    }
}

/// One issue's outcome: `cost` in dollars, `tool_calls`, `seconds`.
pub struct Issue<'a> {
    pub id: &'a str,
    pub status: OutcomeStatus,
    pub cost: Option<f64>,
    pub tool_calls: u32,
    pub seconds: f64,
}

pub fn issue(
    id: &str,
    status: OutcomeStatus,
    cost: f64,
    tool_calls: u32,
    seconds: f64,
) -> Issue<'_> {
    Issue {
        id,
        status,
        cost: Some(cost),
        tool_calls,
        seconds,
    }
}

pub fn outcome(run_id: &str, issue: &Issue<'_>) -> OutcomeRecord {
    OutcomeRecord {
        own_time: Default::default(),
        run_id: run_id.into(),
        issue_id: issue.id.into(),
        trial: 1,
        pod_index: 0,
        status: issue.status,
        reason: match issue.status {
            OutcomeStatus::Passed => "all checks passed".into(),
            OutcomeStatus::Failed => format!(
                "expected.priority: wanted \"high\", got \"low\" ({})",
                issue.id
            ),
            OutcomeStatus::Errored => "agent exited with status 1".into(),
            _ => "interrupted".into(),
        },
        exit: json!(null),
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap(),
        duration_ms: (issue.seconds * 1000.0).round() as u64,
        output: None,
        grade: json!(null),
        stdout: String::new(),
        stdout_bytes: 0,
        stdout_truncated: false,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
        usage: IssueUsage {
            llm_calls: 2 + issue.tool_calls / 2,
            tool_calls: issue.tool_calls,
            input_tokens: 1000 + 100 * u64::from(issue.tool_calls),
            output_tokens: 200,
            cost_usd: issue.cost,
            unpriced_calls: 0,
            budget_stops: 0,
            model_retries: 0,
            throttled_ms: 0.0,
            side_models: Default::default(),
        },
    }
}

pub fn run_input(id: &str, agent_version: &str, issues: &[Issue<'_>]) -> RunInput {
    let mut unique: Vec<&str> = issues.iter().map(|issue| issue.id).collect();
    unique.dedup();
    RunInput::new(
        run_record(id, agent_version, unique.len()),
        issues.iter().map(|issue| outcome(id, issue)).collect(),
    )
}

/// The small fixed run of the snapshots and the browser test: ten issues in three categories,
/// with steps and boundary events.
pub fn small_run() -> RunInput {
    use OutcomeStatus::*;
    let issues = [
        issue("T-1", Passed, 0.012, 3, 4.2),
        issue("T-2", Passed, 0.018, 4, 5.1),
        issue("T-3", Failed, 0.041, 9, 12.8),
        issue("T-4", Passed, 0.011, 2, 3.9),
        issue("T-5", Passed, 0.015, 3, 4.4),
        issue("T-6", Errored, 0.090, 21, 41.0),
        issue("T-7", Passed, 0.013, 3, 4.0),
        issue("T-8", Passed, 0.016, 4, 5.6),
        issue("T-9", Failed, 0.022, 5, 7.3),
        issue("T-10", Passed, 0.014, 3, 4.7),
    ];
    let categories = [
        "billing", "shipping", "billing", "account", "shipping", "billing", "account", "shipping",
        "billing", "account",
    ];
    let mut input = run_input("20261125-120000-abcd", "baseline-1", &issues);
    input.issues = issues
        .iter()
        .zip(categories)
        .map(|(issue, category)| {
            (
                issue.id.to_string(),
                json!({"id": issue.id, "subject": "Refund <not> received & \"urgent\"", "category": category}),
            )
        })
        .collect();
    input.steps = issues
        .iter()
        .flat_map(|issue| {
            let mut steps = vec![StepRecord {
                issue_id: issue.id.into(),
                trial: 1,
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap()),
                latency_ms: Some(850.0),
                detail: StepDetail::LlmCall(ModelCallDetail {
                    model: Some("gpt-4o-mini".into()),
                    usage: TokenCounts {
                        input_tokens: 900,
                        output_tokens: 120,
                        ..TokenCounts::default()
                    },
                    cost_usd: Some(0.004),
                    status: 200,
                    ..ModelCallDetail::default()
                }),
            }];
            for call in 0..issue.tool_calls.min(3) {
                steps.push(StepRecord {
                    issue_id: issue.id.into(),
                    trial: 1,
                    started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, call + 2).unwrap()),
                    latency_ms: Some(12.5),
                    detail: StepDetail::ToolCall(ToolCallDetail {
                        tool: if call == 0 { "query" } else { "execute" }.into(),
                        outcome: if issue.id == "T-6" && call == 2 {
                            ToolCallOutcome::Error
                        } else {
                            ToolCallOutcome::Ok
                        },
                        ..ToolCallDetail::default()
                    }),
                });
            }
            steps
        })
        .collect();
    input.boundary_events = vec![
        BoundaryEventRecord {
            issue_id: "T-1".into(),
            trial: 1,
            detail: BoundaryDetail::Change(RowChangeDetail {
                table: "tickets".into(),
                operation: "UPDATE".into(),
                ..Default::default()
            }),
        },
        BoundaryEventRecord {
            issue_id: "T-3".into(),
            trial: 1,
            detail: BoundaryDetail::Proposal(ProposalDetail {
                table: "refunds".into(),
                operation: "INSERT".into(),
                ..Default::default()
            }),
        },
        BoundaryEventRecord {
            issue_id: "T-6".into(),
            trial: 1,
            detail: BoundaryDetail::Violation(ViolationDetail {
                table: Some("roles".into()),
                error: "permission denied for table roles".into(),
                ..Default::default()
            }),
        },
    ];
    input
}

/// Nearest rank, as `Distribution` does it.
pub fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The 2.5th and 97.5th percentiles (nearest rank) of resampled statistics.
pub fn percentile_band(mut resampled: Vec<f64>) -> (f64, f64) {
    resampled.sort_by(f64::total_cmp);
    let count = resampled.len();
    (
        resampled[(0.025 * count as f64).floor() as usize],
        resampled[((0.975 * count as f64).ceil() as usize) - 1],
    )
}

pub fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance
}
