//! The gate: which checks fail, by how much, and when a check cannot be measured.

use agentpod_report::{
    Comparison, GateThresholds, ProductionBudgets, ProductionProfile, ReportFormat, RunReport,
    evaluate_gate, render_gate,
};

use crate::support::{close, small_run};

fn production() -> ProductionProfile {
    ProductionProfile {
        issues_per_month: 10_000.0,
        by_category: None,
        current: None,
        budgets: ProductionBudgets::default(),
    }
}

#[test]
fn failing_checks_say_by_how_much() {
    let report = RunReport::build(&small_run(), Some(&production()), 3);
    let thresholds = GateThresholds {
        min_pass_rate: Some(0.8),
        max_regressions: None,
        max_monthly_cost_usd: Some(300.0),
        max_p95_cost_usd: Some(0.10),
        max_p95_seconds: Some(30.0),
        max_violations: Some(0),
    };
    let gate = evaluate_gate(&report, None, &thresholds);
    assert!(!gate.passed);
    let by_name = |name: &str| gate.checks.iter().find(|check| check.name == name).unwrap();
    let pass_rate = by_name("pass_rate");
    assert!(!pass_rate.passed);
    assert!(close(pass_rate.margin.unwrap(), -0.1, 1e-12));
    let cost = by_name("monthly_cost_usd");
    // 10,000 × $0.0252 = $252 against $300.
    assert!(
        cost.passed
            && close(cost.actual.unwrap(), 252.0, 1e-9)
            && close(cost.margin.unwrap(), 48.0, 1e-9)
    );
    assert!(by_name("p95_cost_usd").passed);
    let seconds = by_name("p95_seconds");
    assert!(!seconds.passed && close(seconds.margin.unwrap(), -11.0, 1e-9));
    let violations = by_name("violations");
    assert_eq!(
        (violations.passed, violations.actual, violations.margin),
        (false, Some(1.0), Some(-1.0))
    );
    assert_eq!(gate.failed_checks().count(), 3);

    let text = render_gate(&gate, ReportFormat::Terminal).unwrap();
    assert!(
        text.starts_with("gate FAILED for run 20261125-120000-abcd: 3 of 5 checks failed"),
        "{text}"
    );
    assert!(
        text.contains("FAIL  pass rate 70.0% is below the minimum 80.0% by 10.0 pp"),
        "{text}"
    );
    assert!(
        text.contains("FAIL  p95 time per issue 41.00s exceeds the maximum 30.00s by 11.00s"),
        "{text}"
    );
    assert!(
        text.contains(
            "ok    projected monthly cost $252.00 within the maximum $300.00 (margin $48.00)"
        ),
        "{text}"
    );
    let markdown = render_gate(&gate, ReportFormat::Markdown).unwrap();
    assert!(markdown.starts_with("### ❌ Gate failed"), "{markdown}");
    assert!(render_gate(&gate, ReportFormat::Html).is_err());
}

#[test]
fn passing_gate_regressions_and_unmeasurable_checks() {
    let input = small_run();
    let report = RunReport::build(&input, None, 3);
    let lenient = GateThresholds {
        min_pass_rate: Some(0.7),
        max_violations: Some(1),
        ..GateThresholds::default()
    };
    let gate = evaluate_gate(&report, None, &lenient);
    assert!(gate.passed, "{gate:?}");
    assert_eq!(
        gate.checks[0].margin,
        Some(0.0),
        "exactly at the minimum passes"
    );

    // Regressions without a baseline are skipped; a cost limit with no production profile fails.
    let thresholds = GateThresholds {
        max_regressions: Some(0),
        max_monthly_cost_usd: Some(1000.0),
        max_violations: None,
        ..GateThresholds::default()
    };
    let gate = evaluate_gate(&report, None, &thresholds);
    assert!(!gate.passed);
    assert!(gate.checks[0].skipped && gate.checks[0].passed);
    assert!(!gate.checks[1].passed && gate.checks[1].actual.is_none());

    // Against a baseline where this run regressed on T-3, T-6 and T-9 (and improved on none).
    let mut baseline = small_run();
    baseline.run.id = "baseline".into();
    for outcome in &mut baseline.outcomes {
        outcome.status = agentpod_store::OutcomeStatus::Passed;
    }
    let comparison = Comparison::build(&[baseline, input], 3).unwrap();
    let gate = evaluate_gate(
        &report,
        Some(&comparison),
        &GateThresholds {
            max_regressions: Some(1),
            max_violations: None,
            ..GateThresholds::default()
        },
    );
    let check = &gate.checks[0];
    assert_eq!(
        (check.passed, check.actual, check.margin),
        (false, Some(3.0), Some(-2.0))
    );
    let gate = evaluate_gate(
        &report,
        Some(&comparison),
        &GateThresholds {
            max_regressions: Some(3),
            max_violations: None,
            ..GateThresholds::default()
        },
    );
    assert!(gate.passed);
}
