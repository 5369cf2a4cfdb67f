//! The run summary from stored records, and how it reads on a terminal.

use agentpod_report::{render_summary, summarize};
use agentpod_store::{OutcomeRecord, OutcomeStatus, OwnTime, RunRecord, RunStatus};
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
        trials: 1,
        status: RunStatus::Finished,
        started_at,
        finished_at: Some(started_at + Duration::milliseconds(12_340)),
        summary: None,
        unprotected: false,
        evaluation_set: None,
        sharding: None,
    }
}

fn outcome(issue_id: &str, status: OutcomeStatus, duration_ms: u64, reason: &str) -> OutcomeRecord {
    OutcomeRecord {
        own_time: Default::default(),
        run_id: "20261125-120000-abcd".into(),
        issue_id: issue_id.into(),
        trial: 1,
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
        usage: Default::default(),
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

    insta::assert_snapshot!(render_summary(&summary), @r#"
    support-triage · agent baseline-1 · run 20261125-120000-abcd · docker, 3 pods
      issues      22 sampled: 17 passed, 1 failed, 1 errored, 1 interrupted, 2 not run
      pass rate   89.5% (17 of 19)
      time        median 0.90s · p95 30.00s · max 30.00s per issue (agent start to end)
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
    let text = render_summary(&summarize(&run(14), &outcomes, &[]));
    assert!(text.contains("E-9 "), "{text}");
    assert!(!text.contains("E-10 "), "{text}");
    assert!(text.contains("… and 4 more"), "{text}");
}

#[test]
fn cost_tokens_and_calls_are_distributions_with_outliers() {
    use agentpod_store::IssueUsage;
    let mut outcomes = Vec::new();
    for (index, (llm_calls, tool_calls, cost)) in [
        (2, 3, Some(0.01)),
        (2, 4, Some(0.02)),
        (3, 4, Some(0.02)),
        (3, 5, Some(0.03)),
        (9, 40, None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut outcome = outcome(&format!("T-{index}"), OutcomeStatus::Passed, 1000, "ok");
        outcome.usage = IssueUsage {
            llm_calls,
            tool_calls,
            input_tokens: 100 * u64::from(llm_calls),
            output_tokens: 10 * u64::from(llm_calls),
            cost_usd: cost,
            unpriced_calls: u32::from(cost.is_none()) * llm_calls,
            budget_stops: 0,
            model_retries: 0,
            throttled_ms: 0.0,
            side_models: Default::default(),
        };
        outcomes.push(outcome);
    }
    let summary = summarize(&run(5), &outcomes, &[]);
    let usage = &summary.usage;
    assert_eq!(
        usage.total_cost_usd,
        Some(0.08),
        "only priced issues add up"
    );
    assert_eq!(
        usage.unpriced_calls, 9,
        "an unknown price is flagged, not zero"
    );
    assert_eq!(usage.cost_usd_per_issue.unwrap().count, 4);
    let tools = usage.tool_calls_per_issue.unwrap();
    assert_eq!((tools.median, tools.max), (4.0, 40.0));
    assert_eq!(usage.tokens_per_issue.unwrap().median, 330.0);
    assert_eq!(usage.outliers.len(), 1);
    assert_eq!(
        (
            usage.outliers[0].issue_id.as_str(),
            usage.outliers[0].measure.as_ref()
        ),
        ("T-4", "tool_calls")
    );

    let text = render_summary(&summary);
    assert!(text.contains("cost        median $0.02 · p95 $0.03 · max $0.03 per issue · total $0.08 (9 calls to unpriced models not included)"), "{text}");
    assert!(
        text.contains("tools       median 4 calls · p95 40 · max 40 per issue"),
        "{text}"
    );
    assert!(text.contains("T-4  40 tool calls (fence 6.5)"), "{text}");
    assert!(
        !text.contains("throttling"),
        "no throttling, no line: {text}"
    );
}

#[test]
fn the_providers_throttling_is_reported_and_not_counted_as_the_agents_time() {
    let mut outcomes: Vec<_> = (0..4)
        .map(|i| outcome(&format!("T-{i}"), OutcomeStatus::Passed, 1000, "ok"))
        .collect();
    for outcome in &mut outcomes {
        outcome.usage.llm_calls = 2;
    }
    // T-0 spent 400 ms of its second waiting on the provider, over 2 retries; T-1 waited
    // 1.5 s in line over two calls at once, more than its whole duration.
    outcomes[0].usage.model_retries = 2;
    outcomes[0].usage.throttled_ms = 400.0;
    outcomes[1].usage.throttled_ms = 1500.0;
    let summary = summarize(&run(4), &outcomes, &[]);
    let throttling = &summary.usage.throttling;
    assert_eq!(throttling.model_retries, 2);
    assert_eq!(throttling.throttled_seconds, 1.9);
    assert_eq!(throttling.issues_throttled, 2);
    let seconds = summary.seconds_per_issue.unwrap();
    assert_eq!(
        (seconds.mean, seconds.max),
        ((0.6 + 0.0 + 1.0 + 1.0) / 4.0, 1.0),
        "each issue's time is net of its throttling, floored at zero"
    );
    assert_eq!(outcomes[0].agent_ms(), 600);
    let text = render_summary(&summary);
    assert!(
        text.contains("throttling  provider throttling: 2 retries, 1.90s waiting in 2 issues, not counted as the agent's time"),
        "{text}"
    );
    assert!(text.contains("less provider throttling"), "{text}");
}

#[test]
fn a_run_of_several_trials_counts_trials_and_gives_pass_k() {
    let mut run = run(3);
    run.trials = 3;
    let trial = |issue: &str, trial: u32, status| OutcomeRecord {
        own_time: Default::default(),
        trial,
        ..outcome(issue, status, 1000, &format!("{issue} trial {trial}"))
    };
    use OutcomeStatus::{Errored, Failed, Interrupted, Passed};
    let outcomes = vec![
        // T-1 passes every trial; T-2 once in three; T-3's second trial was interrupted.
        trial("T-1", 1, Passed),
        trial("T-1", 2, Passed),
        trial("T-1", 3, Passed),
        trial("T-2", 1, Passed),
        trial("T-2", 2, Failed),
        trial("T-2", 3, Errored),
        trial("T-3", 1, Passed),
        trial("T-3", 2, Interrupted),
    ];
    let summary = summarize(&run, &outcomes, &[]);
    assert_eq!(summary.trials, 3);
    assert_eq!(summary.issues.trials, 9);
    assert_eq!(summary.issues.passed, 5);
    assert_eq!(summary.issues.not_run, 1, "T-3's third trial");
    assert_eq!(summary.pass_rate, Some(5.0 / 7.0), "over finished trials");
    let all = summary.pass_all_trials.clone().unwrap();
    assert_eq!(
        (all.passed_issues, all.finished_issues),
        (1, 2),
        "T-1 passed all three trials, T-2 failed one; T-3 is undecided (a trial to go, none \
         failed) and counts neither way"
    );
    assert_eq!(summary.errored[0].trial, 3);

    insta::assert_snapshot!(render_summary(&summary), @r#"
    support-triage · agent baseline-1 · run 20261125-120000-abcd · docker, 3 pods
      issues      3 sampled × 3 trials = 9: 5 passed, 1 failed, 1 errored, 1 interrupted, 1 not run
      pass rate   71.4% (5 of 7 trials)
      pass^3      50.0% (1 of 2 issues passed every trial)
      time        median 1.00s · p95 1.00s · max 1.00s per issue (agent start to end)
      wall time   12.34s
    errored:
      T-2 (trial 3)  T-2 trial 3
    failed:
      T-2 (trial 2)  T-2 trial 2
    "#);

    run.trials = 1;
    let plain = summarize(&run, &outcomes[..3], &[]);
    assert!(plain.pass_all_trials.is_none(), "no pass^k for one trial");
}

/// What a hostile agent puts in its output, and so in a reason: escape sequences that clear the
/// screen and plant a hyperlink, a carriage return that overwrites the line, a bidi override, and
/// Markdown for a fake table row, a heading, a tracking pixel and HTML.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]8;;http://evil/\u{7}click\u{1b}]8;;\u{7} failed\rpassed \
                       \u{202e}deliaf\u{202c} | ✅ | passed |\n### Approved\n\
                       ![x](http://evil/p.png)<img src=x>";

/// Whether a terminal would act on a character of `text` other than its newlines.
fn acts_on_terminal(text: &str) -> Option<char> {
    text.chars().find(|&character| {
        (character.is_control() && character != '\n')
            || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn text_from_the_agent_cannot_act_on_the_terminal() {
    let outcomes = vec![
        outcome("T-1", OutcomeStatus::Failed, 900, HOSTILE),
        outcome(
            "T-2\u{1b}[1A\rT-2",
            OutcomeStatus::Errored,
            900,
            &format!("agent exited with code 1: {HOSTILE}"),
        ),
    ];
    let violation = agentpod_store::BoundaryEventRecord {
        issue_id: "T-1".into(),
        trial: 1,
        detail: agentpod_store::BoundaryDetail::Violation(agentpod_store::ViolationDetail {
            table: Some("customers".into()),
            error: HOSTILE.into(),
            ..Default::default()
        }),
    };
    let text = render_summary(&summarize(&run(2), &outcomes, &[violation]));
    assert_eq!(acts_on_terminal(&text), None, "{text}");
    // The agent's lines stay on one line each, spelled out where they would have acted.
    assert!(
        text.lines()
            .all(|line| !line.starts_with("###") && !line.starts_with("![")),
        "{text}"
    );
    assert!(
        text.contains(
            "T-1  \\x1b[2J\\x1b]8;;http://evil/\\x07click\\x1b]8;;\\x07 failed\\rpassed \
             \\u{202e}deliaf\\u{202c} | ✅ | passed |\\n### Approved\\n"
        ),
        "{text}"
    );
    assert!(text.contains("T-2\\x1b[1A\\rT-2  agent exited"), "{text}");
    // Header, issues, pass rate, time, wall time, boundary; then errored, failed and violations,
    // each a title and one line.
    assert_eq!(text.lines().count(), 6 + 3 * 2, "{text}");
}

/// agentpod's own time per issue (hand-out, boundary events, grading): the total's median and
/// p95 and each phase's median, over the outcomes that measured it; none, no line.
#[test]
fn agentpods_own_time_per_issue_is_shown_beside_the_agents() {
    let mut outcomes: Vec<OutcomeRecord> = (1..=4u32)
        .map(|i| {
            let mut measured = outcome(&format!("T-{i}"), OutcomeStatus::Passed, 1000, "ok");
            measured.own_time = OwnTime {
                prepare_ms: 4.0 * f64::from(i),
                events_ms: 2.0,
                grade_ms: 0.5 * f64::from(i),
            };
            measured
        })
        .collect();
    // Recorded before agentpod measured it: left out, not counted as zero.
    outcomes.push(outcome("T-old", OutcomeStatus::Passed, 1000, "ok"));
    let summary = summarize(&run(5), &outcomes, &[]);
    let own = summary.own_time.as_ref().expect("measured");
    assert_eq!(own.total_ms.count, 4);
    assert_eq!(own.total_ms.max, 16.0 + 2.0 + 2.0);
    assert_eq!(own.events_ms_median, 2.0);
    let text = render_summary(&summary);
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with("agentpod "))
        .unwrap_or_else(|| panic!("no own-time line in {text}"));
    assert!(line.contains("per issue of its own"), "{line}");
    assert!(line.contains("boundary events 2.0 ms"), "{line}");
    assert!(line.contains("p95 20 ms"), "{line}");

    let unmeasured = summarize(&run(1), &outcomes[4..], &[]);
    assert!(unmeasured.own_time.is_none());
    assert!(!render_summary(&unmeasured).contains("of its own"));
}
