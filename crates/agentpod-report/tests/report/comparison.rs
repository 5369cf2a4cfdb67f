//! Comparison: shared issues, paired deltas, McNemar, and the flips in order.

use agentpod_report::{Comparison, ReportError, mcnemar_exact_p_value, wilson_interval};
use agentpod_store::OutcomeStatus::{self, *};

use crate::support::{Issue, close, issue, run_input};

fn statuses(
    prefix: &str,
    pattern: &[OutcomeStatus],
    cost: f64,
    tool_calls: u32,
    seconds: f64,
) -> Vec<(String, OutcomeStatus, f64, u32, f64)> {
    pattern
        .iter()
        .enumerate()
        .map(|(i, status)| {
            (
                format!("{prefix}{i}"),
                *status,
                cost + 0.001 * i as f64,
                tool_calls,
                seconds,
            )
        })
        .collect()
}

fn input(id: &str, rows: &[(String, OutcomeStatus, f64, u32, f64)]) -> agentpod_report::RunInput {
    let issues: Vec<Issue<'_>> = rows
        .iter()
        .map(|(issue_id, status, cost, tools, secs)| issue(issue_id, *status, *cost, *tools, *secs))
        .collect();
    run_input(id, id, &issues)
}

#[test]
fn deltas_flips_and_mcnemar_on_shared_issues() {
    // Twelve shared issues. Baseline passes 0..8; candidate loses 1 and 2, gains 9, 10, 11.
    let baseline_pattern = [
        Passed, Passed, Passed, Passed, Passed, Passed, Passed, Passed, Failed, Failed, Errored,
        Failed,
    ];
    let candidate_pattern = [
        Passed, Failed, Errored, Passed, Passed, Passed, Passed, Passed, Failed, Passed, Passed,
        Passed,
    ];
    let mut baseline = statuses("S-", &baseline_pattern, 0.02, 4, 10.0);
    // Only the baseline has this issue: not shared, so not compared.
    baseline.push(("ONLY-A".into(), Failed, 1.0, 50, 100.0));
    let mut candidate = statuses("S-", &candidate_pattern, 0.03, 3, 8.0);
    // Interrupted in the candidate: not finished, so not shared.
    candidate[5].1 = Interrupted;
    let comparison =
        Comparison::build(&[input("run-a", &baseline), input("run-b", &candidate)], 4).unwrap();
    assert_eq!(comparison.shared_issues, 11);
    let (a, b) = (&comparison.runs[0], &comparison.runs[1]);
    assert!(a.against_baseline.is_none());
    // Shared: all but S-5. Baseline passes S-0..S-7 minus S-5 = 7; candidate 7 + 3 − 2 − 1 = ...
    assert_eq!(a.passed, 7);
    assert_eq!(b.passed, 8);
    assert_eq!(b.pass_rate, wilson_interval(8, 11));
    let difference = b.against_baseline.as_ref().unwrap();
    assert_eq!((difference.regressions, difference.improvements), (2, 3));
    assert_eq!(difference.mcnemar_p_value, mcnemar_exact_p_value(2, 3));
    assert!(close(difference.mcnemar_p_value, 1.0, 1e-12));
    let flips: Vec<(&str, bool, OutcomeStatus, OutcomeStatus)> = difference
        .flips
        .iter()
        .map(|flip| {
            (
                flip.issue_id.as_str(),
                flip.regression,
                flip.baseline,
                flip.candidate,
            )
        })
        .collect();
    assert_eq!(
        flips,
        [
            ("S-1", true, Passed, Failed),
            ("S-2", true, Passed, Errored),
            ("S-9", false, Failed, Passed),
            ("S-10", false, Errored, Passed),
            ("S-11", false, Failed, Passed),
        ]
    );
    // Paired deltas are exact here: every shared issue costs $0.01 more, one tool call fewer,
    // two seconds less.
    assert!(close(difference.cost_usd.unwrap().mean.value, 0.01, 1e-12));
    assert!(
        close(difference.cost_usd.unwrap().mean.low, 0.01, 1e-12)
            && close(difference.cost_usd.unwrap().mean.high, 0.01, 1e-12)
    );
    assert_eq!(difference.tool_calls.mean.value, -1.0);
    assert!(close(difference.seconds.mean.value, -2.0, 1e-12));
    assert!(close(difference.pass_rate.mean.value, 1.0 / 11.0, 1e-12));
    assert!(
        difference.pass_rate.mean.low < 0.0 && difference.pass_rate.mean.high > 0.0,
        "{:?}",
        difference.pass_rate
    );
    assert_eq!(difference.pass_rate.issues, 11);
    assert_eq!(comparison.regressions_of("run-b"), Some(2));
    assert_eq!(comparison.regressions_of("run-a"), None);
}

#[test]
fn many_one_way_flips_are_significant_and_three_runs_compare_to_the_first() {
    let baseline = statuses("F-", &[Passed; 20], 0.02, 4, 10.0);
    let mut worse_pattern = [Passed; 20];
    for status in worse_pattern.iter_mut().take(8) {
        *status = Failed;
    }
    let worse = statuses("F-", &worse_pattern, 0.02, 4, 10.0);
    let same = statuses("F-", &[Passed; 20], 0.02, 4, 10.0);
    let comparison = Comparison::build(
        &[
            input("base", &baseline),
            input("worse", &worse),
            input("same", &same),
        ],
        1,
    )
    .unwrap();
    let worse = comparison.runs[1].against_baseline.as_ref().unwrap();
    assert_eq!(worse.regressions, 8);
    assert!(close(worse.mcnemar_p_value, 2.0 / 256.0, 1e-12));
    let same = comparison.runs[2].against_baseline.as_ref().unwrap();
    assert_eq!(
        (same.regressions, same.improvements, same.mcnemar_p_value),
        (0, 0, 1.0)
    );
    assert_eq!(same.pass_rate.mean.value, 0.0);
}

#[test]
fn fewer_than_two_runs_is_an_error() {
    let only = input("only", &statuses("X-", &[Passed], 0.01, 1, 1.0));
    let error = Comparison::build(&[only], 1).unwrap_err();
    assert!(matches!(error, ReportError::TooFewRuns(1)));
    assert_eq!(
        error.to_string(),
        "cannot compare fewer than two runs (got 1)"
    );
}

#[test]
fn runs_on_different_evaluation_sets_are_warned_about() {
    use agentpod_store::EvaluationSet;
    let set = |digit: char, issues: usize| {
        Some(EvaluationSet {
            sha256: digit.to_string().repeat(64),
            issues,
        })
    };
    let rows = statuses("S-", &[Passed, Failed, Passed], 0.01, 1, 1.0);
    let mut baseline = input("run-a", &rows);
    let mut candidate = input("run-b", &rows);
    baseline.run.evaluation_set = set('a', 300);
    candidate.run.evaluation_set = set('a', 300);
    let same = Comparison::build(&[baseline.clone(), candidate.clone()], 4).unwrap();
    assert!(same.warnings.is_empty(), "{:?}", same.warnings);
    assert_eq!(same.runs[1].evaluation_set, set('a', 300));

    candidate.run.evaluation_set = set('b', 302);
    // S-1 is the same id with another question.
    baseline.issues.insert(
        "S-1".into(),
        serde_json::json!({"fields": {"subject": "old"}}),
    );
    candidate.issues.insert(
        "S-1".into(),
        serde_json::json!({"fields": {"subject": "new"}}),
    );
    let different = Comparison::build(&[baseline, candidate], 4).unwrap();
    assert_eq!(different.warnings.len(), 2, "{:?}", different.warnings);
    assert!(
        different.warnings[0].contains("different evaluation sets")
            && different.warnings[0].contains("sha256:aaaaaaaaaaaa (300 issues)")
            && different.warnings[0].contains("sha256:bbbbbbbbbbbb (302 issues)"),
        "{}",
        different.warnings[0]
    );
    assert!(
        different.warnings[1].starts_with("1 shared issue differs")
            && different.warnings[1].ends_with(": S-1"),
        "{}",
        different.warnings[1]
    );
}
