//! Every figure of a run report for a run with known outcomes.

use agentpod_report::{RunReport, wilson_interval};
use agentpod_store::OutcomeStatus;

use crate::support::{close, issue, run_input, small_run};

#[test]
fn quality_counts_and_wilson_interval() {
    let report = RunReport::build(&small_run(), None, 11);
    let quality = &report.quality;
    assert_eq!(
        (
            quality.sampled,
            quality.passed,
            quality.failed,
            quality.errored,
            quality.not_run
        ),
        (10, 7, 2, 1, 0)
    );
    assert_eq!(quality.trials, 1);
    assert!(quality.pass_all_trials.is_none(), "one trial: no pass^k");
    assert_eq!(quality.pass_rate, wilson_interval(7, 10));
    assert!(
        report
            .verdict
            .headline
            .starts_with("7 of 10 passed (70.0%, 95% CI 39.7%–89.2%)"),
        "{}",
        report.verdict.headline
    );
}

#[test]
fn distributions_totals_outliers_and_boundary() {
    let report = RunReport::build(&small_run(), None, 11);
    let cost = report.cost_usd.unwrap();
    assert_eq!(cost.distribution.median, 0.015);
    assert_eq!(cost.distribution.p95, 0.090);
    assert_eq!(cost.distribution.max, 0.090);
    assert!(close(cost.mean.value, 0.0252, 1e-12));
    assert!(close(cost.total.value, 0.252, 1e-12));
    assert!(cost.mean.low < cost.mean.value && cost.mean.value < cost.mean.high);
    assert!(close(cost.total.low, cost.mean.low * 10.0, 1e-12));

    let tools = report.tool_calls.unwrap();
    assert_eq!(
        (
            tools.distribution.median,
            tools.distribution.p95,
            tools.distribution.max
        ),
        (3.0, 21.0, 21.0)
    );
    assert!(close(tools.mean.value, 5.7, 1e-12));
    let seconds = report.seconds.unwrap();
    assert_eq!(
        (seconds.distribution.median, seconds.distribution.max),
        (4.7, 41.0)
    );
    // Model calls are 2 + tool calls / 2 in the fixture.
    assert_eq!(report.model_calls.unwrap().distribution.max, 12.0);

    // Tukey's fence over 10 issues: cost 0.0355, tool calls 8, time 11.95.
    let mut outliers: Vec<(String, &str)> = report
        .outliers
        .iter()
        .map(|outlier| (outlier.issue_id.clone(), outlier.measure.as_ref()))
        .collect();
    outliers.sort();
    assert_eq!(
        outliers,
        [
            ("T-3".to_string(), "cost_usd"),
            ("T-3".to_string(), "seconds"),
            ("T-3".to_string(), "tool_calls"),
            ("T-6".to_string(), "cost_usd"),
            ("T-6".to_string(), "seconds"),
            ("T-6".to_string(), "tool_calls"),
        ]
    );
    let boundary = &report.boundary;
    assert_eq!(
        (
            boundary.changes,
            boundary.proposals,
            boundary.violations,
            boundary.issues_with_violations
        ),
        (1, 1, 1, 1)
    );
    assert!(!report.verdict.ok, "a violation is never ok");
    assert_eq!(report.verdict.concerns[0], "1 errored issue");
    assert_eq!(
        report.verdict.concerns[1],
        "1 boundary violation in 1 issue"
    );
}

#[test]
fn pass_rate_by_category() {
    let report = RunReport::build(&small_run(), None, 11);
    assert_eq!(report.category_field.as_deref(), Some("category"));
    let figures: Vec<(&str, usize, usize)> = report
        .categories
        .iter()
        .map(|category| {
            (
                category.value.as_str(),
                category.passed_trials,
                category.finished_trials,
            )
        })
        .collect();
    assert_eq!(
        figures,
        [("account", 3, 3), ("billing", 1, 4), ("shipping", 3, 3)]
    );
    assert_eq!(Some(report.categories[1].pass_rate), wilson_interval(1, 4));
}

#[test]
fn pass_to_the_k_leaves_out_issues_whose_answer_is_not_decided_yet() {
    use OutcomeStatus::*;
    // Three trials each, the run stopped early: A passed all three; B failed one of two; C
    // passed the two it finished and was interrupted in its third, so it could still go
    // either way and counts neither way.
    let outcomes = [
        issue("A", Passed, 0.01, 1, 1.0),
        issue("A", Passed, 0.01, 1, 1.0),
        issue("A", Passed, 0.01, 1, 1.0),
        issue("B", Passed, 0.01, 1, 1.0),
        issue("B", Failed, 0.01, 1, 1.0),
        issue("C", Passed, 0.01, 1, 1.0),
        issue("C", Passed, 0.01, 1, 1.0),
        issue("C", Interrupted, 0.01, 1, 1.0),
    ];
    let report = RunReport::build(&run_input("trials", "v1", &outcomes), None, 3);
    assert_eq!(report.quality.trials, 3);
    assert_eq!(report.quality.pass_all_trials, wilson_interval(1, 2));
}

#[test]
fn trials_give_pass_to_the_k() {
    use OutcomeStatus::*;
    // Three issues × three trials: A passes all, B passes two, C passes one.
    let outcomes = [
        issue("A", Passed, 0.01, 1, 1.0),
        issue("A", Passed, 0.03, 3, 3.0),
        issue("A", Passed, 0.02, 2, 2.0),
        issue("B", Passed, 0.01, 1, 1.0),
        issue("B", Failed, 0.01, 1, 1.0),
        issue("B", Passed, 0.01, 1, 1.0),
        issue("C", Failed, 0.01, 1, 1.0),
        issue("C", Errored, 0.01, 1, 1.0),
        issue("C", Passed, 0.01, 1, 1.0),
    ];
    let report = RunReport::build(&run_input("trials", "v1", &outcomes), None, 3);
    let quality = &report.quality;
    assert_eq!(quality.trials, 3);
    assert_eq!(quality.pass_rate, wilson_interval(6, 9));
    assert_eq!(quality.pass_all_trials, wilson_interval(1, 3));
    assert!(
        report.verdict.headline.contains("pass^3 33.3%"),
        "{}",
        report.verdict.headline
    );
    let a = report
        .issues
        .iter()
        .find(|row| row.issue_id == "A")
        .unwrap();
    // Per issue: the mean over its trials.
    assert_eq!((a.trials, a.passed_trials, a.status), (3, 3, Passed));
    assert!(close(a.cost_usd.unwrap(), 0.02, 1e-12) && a.tool_calls == 2.0 && a.seconds == 2.0);
    let c = report
        .issues
        .iter()
        .find(|row| row.issue_id == "C")
        .unwrap();
    assert_eq!(
        c.status, Failed,
        "the first trial that did not pass speaks for the issue"
    );
}

#[test]
fn same_seed_same_numbers() {
    let input = small_run();
    let first = RunReport::build(&input, None, 42);
    assert_eq!(first, RunReport::build(&input, None, 42));
    let other = RunReport::build(&input, None, 43);
    assert_ne!(
        first.cost_usd.unwrap().mean,
        other.cost_usd.unwrap().mean,
        "the seed drives the intervals"
    );
    assert_eq!(
        first.cost_usd.unwrap().mean.value,
        other.cost_usd.unwrap().mean.value,
        "not the estimates"
    );
}

#[test]
fn unpriced_costs_and_unfinished_issues_are_left_out() {
    use OutcomeStatus::*;
    let mut issues = vec![
        issue("A", Passed, 0.02, 2, 2.0),
        issue("B", Passed, 0.04, 2, 2.0),
        issue("C", Interrupted, 0.5, 9, 9.0),
    ];
    issues.push(issue("D", Failed, 0.0, 1, 1.0));
    issues[3].cost = None;
    let mut input = run_input("partial", "v1", &issues);
    input.run.issue_count = 5;
    let report = RunReport::build(&input, None, 1);
    assert_eq!(report.quality.not_run, 1);
    assert_eq!(report.quality.interrupted, 1);
    assert_eq!(report.quality.pass_rate, wilson_interval(2, 3));
    let cost = report.cost_usd.unwrap();
    assert_eq!(cost.distribution.count, 2, "only priced, finished issues");
    assert!(close(cost.mean.value, 0.03, 1e-12));
    assert_eq!(report.seconds.unwrap().distribution.count, 3);
    assert!(
        report
            .verdict
            .concerns
            .iter()
            .any(|concern| concern == "2 of 5 sampled issues did not finish"),
        "{:?}",
        report.verdict.concerns
    );
}
