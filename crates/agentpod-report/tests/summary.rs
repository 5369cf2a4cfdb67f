//! The run summary from stored records, and how it reads on a terminal.

use agentpod_report::{render_terminal, summarize};
use agentpod_store::{OutcomeRecord, OutcomeStatus, RunRecord, RunStatus};
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

fn run(issue_count: usize) -> RunRecord {
    let started_at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    RunRecord {
        id: "20261125-120000-abcd".into(),
        spec_name: "support-triage".into(),
        spec_path: "pods/support-triage.yaml".into(),
        agent_version: "baseline-1".into(),
        runtime: "docker".into(),
        pods: 3,
        seed: 7,
        issue_count,
        status: RunStatus::Finished,
        started_at,
        finished_at: Some(started_at + Duration::milliseconds(12_340)),
        summary: None,
    }
}

fn outcome(issue_id: &str, status: OutcomeStatus, duration_ms: u64, reason: &str) -> OutcomeRecord {
    OutcomeRecord {
        run_id: "20261125-120000-abcd".into(),
        issue_id: issue_id.into(),
        pod_index: 1,
        status,
        reason: reason.into(),
        exit: json!(null),
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap(),
        duration_ms,
        output: None,
        grade: json!(null),
        stdout: String::new(),
        stdout_bytes: 0,
        stdout_truncated: false,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
    }
}

#[test]
fn counts_rates_and_times_come_from_the_outcomes() {
    let mut outcomes: Vec<_> = (1..=17)
        .map(|i| {
            outcome(
                &format!("T-{i}"),
                OutcomeStatus::Passed,
                100 * i,
                "all checks passed",
            )
        })
        .collect();
    outcomes.push(outcome(
        "T-50",
        OutcomeStatus::Failed,
        900,
        r#"output.priority: expected "high", got "low""#,
    ));
    outcomes.push(outcome(
        "T-51",
        OutcomeStatus::Errored,
        30_000,
        "timed out after 30s",
    ));
    outcomes.push(outcome(
        "T-52",
        OutcomeStatus::Interrupted,
        10,
        "interrupted",
    ));
    let summary = summarize(&run(22), &outcomes, &[]);

    assert_eq!(summary.issues.passed, 17);
    assert_eq!(summary.issues.failed, 1);
    assert_eq!(summary.issues.errored, 1);
    assert_eq!(summary.issues.interrupted, 1);
    assert_eq!(summary.issues.not_run, 2);
    assert_eq!(
        summary.pass_rate,
        Some(17.0 / 19.0),
        "interrupted issues are not in the denominator"
    );
    let seconds = summary.seconds_per_issue.unwrap();
    assert_eq!(
        seconds.count, 19,
        "interrupted issues have no meaningful time"
    );
    assert_eq!((seconds.median, seconds.max), (0.9, 30.0));
    assert_eq!(summary.wall_seconds, 12.34);

    insta::assert_snapshot!(render_terminal(&summary), @r#"
    support-triage · agent baseline-1 · run 20261125-120000-abcd · docker, 3 pods
      issues      22 sampled: 17 passed, 1 failed, 1 errored, 1 interrupted, 2 not run
      pass rate   89.5% (17 of 19)
      per issue   median 0.90s · p95 30.00s · max 30.00s
      wall time   12.34s
    errored:
      T-51  timed out after 30s
    failed:
      T-50  output.priority: expected "high", got "low"
    "#);
}

#[test]
fn a_run_with_no_outcomes_has_no_rate_and_long_lists_are_cut() {
    let summary = summarize(&run(5), &[], &[]);
    assert_eq!(summary.pass_rate, None);
    assert!(summary.seconds_per_issue.is_none());
    assert_eq!(summary.issues.not_run, 5);

    let outcomes: Vec<_> = (0..14)
        .map(|i| outcome(&format!("E-{i}"), OutcomeStatus::Errored, 5, "crashed"))
        .collect();
    let text = render_terminal(&summarize(&run(14), &outcomes, &[]));
    assert!(text.contains("E-9 "), "{text}");
    assert!(!text.contains("E-10 "), "{text}");
    assert!(text.contains("… and 4 more"), "{text}");
}
