//! Every figure stated once and right: each is recomputed here from the outcomes alone (no code
//! of the analysis), and every format (terminal, Markdown, HTML, JUnit, JSON) must show that
//! same number; the run summary (`agentpod run`, `show`) and the report must agree on the
//! figures they share; and the report's verdict must be the gate's.

use std::collections::BTreeMap;

use agentpod_report::{
    CategoryMix, Comparison, GateThresholds, ProductionBudgets, ProductionProfile, ReportContext,
    ReportFormat, RunInput, RunReport, evaluate_gate, render_report, wilson_interval,
};
use agentpod_report::{Distribution, summarize};
use agentpod_store::OutcomeStatus;
use serde_json::json;

use crate::support::{Issue, close, outcome, run_record};

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// `issues` issues, each tried `trials` times with the same result every trial (the first
/// `passing` pass), but a different time per trial; category `a` for even issues, `b` for odd.
fn repeated_run(issues: usize, passing: usize, trials: u32) -> RunInput {
    let ids: Vec<String> = (0..issues).map(|i| format!("R-{i}")).collect();
    let mut outcomes = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        for trial in 1..=trials {
            let issue = Issue {
                id,
                status: if index < passing {
                    OutcomeStatus::Passed
                } else {
                    OutcomeStatus::Failed
                },
                cost: Some(0.01 * (1 + index % 5) as f64),
                tool_calls: (index % 4) as u32 + trial,
                seconds: 2.0 + index as f64 + 0.5 * f64::from(trial),
            };
            let mut record = outcome("repeated", &issue);
            record.trial = trial;
            outcomes.push(record);
        }
    }
    let mut run = run_record("repeated", "v1", issues);
    run.trials = trials;
    let mut input = RunInput::new(run, outcomes);
    input.issues = ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            let category = if index % 2 == 0 { "a" } else { "b" };
            (id.clone(), json!({"id": id, "kind": category}))
        })
        .collect();
    input
}

/// Renders the report in every format.
fn every_format(report: &RunReport) -> BTreeMap<&'static str, String> {
    [
        ("terminal", ReportFormat::Terminal),
        ("markdown", ReportFormat::Markdown),
        ("html", ReportFormat::Html),
        ("junit", ReportFormat::Junit),
        ("json", ReportFormat::Json),
    ]
    .into_iter()
    .map(|(name, format)| (name, render_report(report, format).unwrap()))
    .collect()
}

#[test]
fn identical_trials_give_the_interval_of_the_issues() {
    // 20 issues × 3 identical trials, 13 issues passing: the trials add no information about
    // the pass rate, so its interval must be the one-trial interval of the 20 issues.
    let input = repeated_run(20, 13, 3);
    let report = RunReport::build(&input, None, 5);
    let rate = report.quality.pass_rate.unwrap();
    let issue_level = wilson_interval(13, 20).unwrap();
    assert!(close(rate.value, 0.65, 1e-12));
    assert!(
        close(rate.low, issue_level.low, 1e-9),
        "{rate:?} {issue_level:?}"
    );
    assert!(
        close(rate.high, issue_level.high, 1e-9),
        "{rate:?} {issue_level:?}"
    );
    // The naive interval over 60 "independent" trials is narrower: what the issue reported.
    let naive = wilson_interval(39, 60).unwrap();
    assert!(naive.high - naive.low < (rate.high - rate.low) * 0.8);

    let formats = every_format(&report);
    let interval = format!("{}–{}", percent(issue_level.low), percent(issue_level.high));
    assert!(
        formats["terminal"].contains(&format!("pass rate 65.0% (95% CI {interval})")),
        "{}",
        formats["terminal"]
    );
    for name in ["markdown", "html"] {
        assert!(
            formats[name].contains(&format!("65.0%, 95% CI {interval}")),
            "{name}: {}",
            formats[name]
        );
    }
    assert!(formats["junit"].contains("name=\"pass_rate\" value=\"0.650000\""));
    let json: serde_json::Value = serde_json::from_str(&formats["json"]).unwrap();
    assert!(close(
        json["quality"]["pass_rate"]["low"].as_f64().unwrap(),
        issue_level.low,
        1e-9
    ));
    // pass^3: every issue's trials agree, so 13 of 20 again.
    assert_eq!(report.quality.pass_all_trials, wilson_interval(13, 20));
}

#[test]
fn time_per_issue_has_one_definition_in_the_summary_and_the_report() {
    // Trials of an issue take different times: a figure over issue means and one over trials
    // would differ. Both are over finished trials, agent start to agent end.
    let input = repeated_run(9, 5, 2);
    let trial_seconds: Vec<f64> = input
        .outcomes
        .iter()
        .map(|outcome| outcome.duration_ms as f64 / 1000.0)
        .collect();
    let direct = Distribution::of(&trial_seconds).unwrap();
    let report = RunReport::build(&input, None, 5);
    let summary = summarize(&input.run, &input.outcomes, &input.boundary_events);
    let in_report = report.seconds.unwrap().distribution;
    let in_summary = summary.seconds_per_issue.unwrap();
    assert_eq!(in_report, direct);
    assert_eq!(in_summary, direct);
    // And the summary's pass rate is the report's point estimate.
    assert_eq!(
        summary.pass_rate,
        report.quality.pass_rate.map(|rate| rate.value)
    );
    // Tool calls too: over trials, in both.
    let tool_calls: Vec<f64> = input
        .outcomes
        .iter()
        .map(|outcome| f64::from(outcome.usage.tool_calls))
        .collect();
    assert_eq!(
        report.tool_calls.unwrap().distribution,
        Distribution::of(&tool_calls).unwrap()
    );
    assert_eq!(
        summary.usage.tool_calls_per_issue,
        Distribution::of(&tool_calls)
    );
}

#[test]
fn the_production_mix_weights_the_pass_rate() {
    // 12 issues, the first 5 pass: category a (even issues) passes 0, 2 and 4, 3 of 6; b (odd)
    // passes 1 and 3, 2 of 6. Production is nine parts a to one part b.
    let input = repeated_run(12, 5, 1);
    let profile = ProductionProfile {
        issues_per_month: 1000.0,
        by_category: Some(CategoryMix {
            field: "kind".into(),
            weights: BTreeMap::from([("a".to_string(), 9.0), ("b".to_string(), 1.0)]),
        }),
        current: None,
        budgets: ProductionBudgets::default(),
    };
    let report = RunReport::build(&input, Some(&profile), 5);
    let expected = 0.9 * (3.0 / 6.0) + 0.1 * (2.0 / 6.0);
    let projected = report.projection.as_ref().unwrap().pass_rate.unwrap();
    assert!(close(projected.value, expected, 1e-12), "{projected:?}");
    // Wilson's interval on Kish's effective number of issues: 1 / (0.9² / 6 + 0.1² / 6).
    let (low, high) = wilson(expected, 1.0 / (0.81 / 6.0 + 0.01 / 6.0));
    assert!(close(projected.low, low, 1e-12) && close(projected.high, high, 1e-12));
    let measured = report.quality.pass_rate.unwrap().value;
    assert!(close(measured, 5.0 / 12.0, 1e-12));

    let formats = every_format(&report);
    let shown = percent(expected);
    assert!(
        formats["terminal"].contains(&format!("pass rate (mix)             {shown}")),
        "{}",
        formats["terminal"]
    );
    assert!(formats["markdown"].contains(&format!("| pass rate (production mix) | {shown} |")));
    assert!(formats["html"].contains(&format!("production mix: <strong>{shown}</strong>")));
    assert!(formats["junit"].contains(&format!(
        "name=\"pass_rate_production_mix\" value=\"{expected:.6}\""
    )));
    let json: serde_json::Value = serde_json::from_str(&formats["json"]).unwrap();
    assert!(close(
        json["projection"]["pass_rate"]["value"].as_f64().unwrap(),
        expected,
        1e-12
    ));
    // Without a mix there is no second pass rate to confuse with the measured one.
    let plain = ProductionProfile {
        by_category: None,
        ..profile
    };
    let report = RunReport::build(&input, Some(&plain), 5);
    assert!(report.projection.unwrap().pass_rate.is_none());

    // Every trial passed: the interval still says how sure 12 issues can make anyone.
    let all_passed = repeated_run(12, 12, 1);
    let rate = RunReport::build(&all_passed, Some(&profile), 5)
        .projection
        .unwrap()
        .pass_rate
        .unwrap();
    assert_eq!((rate.value, rate.high), (1.0, 1.0));
    assert!(rate.low < 0.8, "{rate:?}");
}

/// Wilson's 95% interval for `rate` over `n` (possibly effective) trials, from its formula.
fn wilson(rate: f64, n: f64) -> (f64, f64) {
    let z = 1.959_963_984_540_054_f64;
    let denominator = 1.0 + z * z / n;
    let center = (rate + z * z / (2.0 * n)) / denominator;
    let half = z / denominator * (rate * (1.0 - rate) / n + z * z / (4.0 * n * n)).sqrt();
    (center - half, center + half)
}

#[test]
fn categories_fall_back_to_the_field_the_sample_was_stratified_by() {
    let input = repeated_run(10, 4, 1);
    assert!(RunReport::build(&input, None, 5).categories.is_empty());
    let context = ReportContext {
        stratify_by: Some("kind".into()),
        ..ReportContext::default()
    };
    let report = RunReport::build_in(&input, &context, 5, 200);
    assert_eq!(report.category_field.as_deref(), Some("kind"));
    let counts: Vec<(&str, usize, usize)> = report
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
    // Issues 0..3 pass: a has 0, 2 (of 0, 2, 4, 6, 8), b has 1, 3 (of 1, 3, 5, 7, 9).
    assert_eq!(counts, [("a", 2, 5), ("b", 2, 5)]);
    assert_eq!(Some(report.categories[0].pass_rate), wilson_interval(2, 5));
}

#[test]
fn the_report_verdict_is_the_gate() {
    let input = repeated_run(10, 6, 1);
    for (min_pass_rate, passes) in [(0.5, true), (0.6, true), (0.7, false)] {
        let context = ReportContext {
            gate: GateThresholds {
                min_pass_rate: Some(min_pass_rate),
                ..GateThresholds::default()
            },
            ..ReportContext::default()
        };
        let report = RunReport::build_in(&input, &context, 5, 200);
        let gate = evaluate_gate(&report, None, &context.gate);
        assert_eq!(gate.passed, passes, "min {min_pass_rate}");
        assert_eq!(report.verdict.ok, gate.passed, "min {min_pass_rate}");
        assert_eq!(report.gate, gate);
        let terminal = render_report(&report, ReportFormat::Terminal).unwrap();
        let verdict_line = terminal.lines().nth(1).unwrap();
        assert_eq!(
            verdict_line.starts_with("verdict      OK"),
            passes,
            "{terminal}"
        );
        if !passes {
            assert!(
                report
                    .verdict
                    .concerns
                    .iter()
                    .any(|concern| concern.starts_with("fails the gate: pass rate 60.0%")),
                "{:?}",
                report.verdict.concerns
            );
            let markdown = render_report(&report, ReportFormat::Markdown).unwrap();
            assert!(markdown.starts_with("### ❌"), "{markdown}");
        }
    }
    // A budget the whole interval exceeds fails the gate, and so the verdict.
    let profile = ProductionProfile {
        issues_per_month: 1000.0,
        by_category: None,
        current: None,
        budgets: ProductionBudgets {
            monthly_cost_usd: Some(1.0),
            ..ProductionBudgets::default()
        },
    };
    let report = RunReport::build(&input, Some(&profile), 5);
    let budget = report
        .gate
        .checks
        .iter()
        .find(|check| check.name == "budget_monthly_cost_usd")
        .unwrap();
    assert!(!budget.passed);
    assert!(!report.verdict.ok);
    // On fewer than ten issues a bootstrap is too narrow to call a budget exceeded.
    let few = repeated_run(5, 3, 1);
    let report = RunReport::build(&few, Some(&profile), 5);
    let budget = report
        .gate
        .checks
        .iter()
        .find(|check| check.name == "budget_monthly_cost_usd")
        .unwrap();
    assert!(budget.passed, "{budget:?}");
    assert!(
        budget.note.as_deref().unwrap().contains("on 5 issues"),
        "{budget:?}"
    );
    // A run where nothing finished passes no gate.
    let mut nothing = input.clone();
    for outcome in &mut nothing.outcomes {
        outcome.status = OutcomeStatus::Interrupted;
    }
    let report = RunReport::build(&nothing, None, 5);
    assert!(!report.gate.passed && !report.verdict.ok);
}

#[test]
fn a_baseline_without_a_limit_allows_no_regression() {
    let baseline = repeated_run(10, 6, 1);
    let mut candidate = repeated_run(10, 6, 1);
    candidate.run.id = "candidate".into();
    for outcome in &mut candidate.outcomes {
        outcome.run_id = "candidate".into();
    }
    // Issue R-0 regresses.
    candidate.outcomes[0].status = OutcomeStatus::Failed;
    let report = RunReport::build(&candidate, None, 5);
    let comparison = Comparison::build(&[baseline, candidate], 5).unwrap();
    let thresholds = GateThresholds::default();
    assert_eq!(thresholds.max_regressions, None);
    let gate = evaluate_gate(&report, Some(&comparison), &thresholds);
    let regressions = gate
        .checks
        .iter()
        .find(|check| check.name == "regressions")
        .expect("a baseline is used even when the spec sets no max_regressions");
    assert_eq!(
        (regressions.limit, regressions.actual, regressions.passed),
        (0.0, Some(1.0), false)
    );
    assert!(regressions.note.as_deref().unwrap().contains("allows none"));
    assert!(!gate.passed);
    // Without a baseline, the report says it did not check regressions when the spec asks.
    let context = ReportContext {
        gate: GateThresholds {
            max_regressions: Some(0),
            ..GateThresholds::default()
        },
        ..ReportContext::default()
    };
    let report = RunReport::build_in(&repeated_run(10, 6, 1), &context, 5, 200);
    assert!(
        report.verdict.concerns.iter().any(|concern| concern
            .starts_with("regressions not checked (maximum 0)")
            && concern.contains("--baseline")),
        "{:?}",
        report.verdict.concerns
    );
}
