//! The CI gate: a run report (and optionally its comparison with a baseline run) held against
//! the thresholds; every check says its limit, what was measured and by how much it passed or
//! failed.
//!
//! The gate's limits read point estimates: the report prints the intervals beside them, and a
//! team that wants a margin sets the threshold with one. The production budgets (`production.
//! budgets`) are held against the whole interval: a budget fails the gate only when the interval
//! lies entirely above it and rests on at least ten issues, and an undecided one says how many
//! issues would decide it. A
//! threshold that cannot be measured fails (a monthly cost limit without a production profile),
//! except regressions without a baseline run: the first run of a new pod has nothing to regress
//! from. A baseline given without `max_regressions` allows none. A run where no issue finished
//! fails: there is nothing to judge.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::figures::assessment::Standing;
use crate::figures::comparison::Comparison;
use crate::figures::gate_thresholds::GateThresholds;
use crate::figures::run_report::RunReport;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub run_id: String,
    pub passed: bool,
    pub checks: Vec<GateCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    /// `pass_rate`, `regressions`, `monthly_cost_usd`, `p95_cost_usd`, `p95_seconds`,
    /// `violations`, `finished_issues`, or a budget: `budget_monthly_cost_usd`,
    /// `budget_p95_cost_usd`, `budget_p95_seconds`.
    pub name: Cow<'static, str>,
    /// `min` or `max`.
    pub bound: Cow<'static, str>,
    pub limit: f64,
    /// `None` when it could not be measured.
    pub actual: Option<f64>,
    pub passed: bool,
    /// Headroom: positive when passed, negative by how much it failed.
    pub margin: Option<f64>,
    /// Not evaluated, and so not held against the run.
    pub skipped: bool,
    pub note: Option<String>,
}

impl GateResult {
    pub fn failed_checks(&self) -> impl Iterator<Item = &GateCheck> {
        self.checks.iter().filter(|check| !check.passed)
    }
}

/// Finished issues a projection needs before a budget it exceeds fails the gate.
pub const MIN_ISSUES_FOR_A_BUDGET: usize = 10;

pub fn evaluate_gate(
    report: &RunReport,
    comparison: Option<&Comparison>,
    thresholds: &GateThresholds,
) -> GateResult {
    let mut checks = Vec::new();
    let projection = report.projection.as_ref();
    if report.quality.finished_issues == 0 {
        checks.push(check("finished_issues", "min", 1.0, Some(0.0), ""));
    }
    if let Some(limit) = thresholds.min_pass_rate {
        checks.push(check(
            "pass_rate",
            "min",
            limit,
            report.quality.pass_rate.map(|rate| rate.value),
            "no issue finished",
        ));
    }
    // A baseline is never ignored: without a limit, it allows no regression.
    let regressions_limit = thresholds
        .max_regressions
        .or(comparison.is_some().then_some(0));
    if let Some(limit) = regressions_limit {
        match comparison {
            None => checks.push(GateCheck {
                name: "regressions".into(),
                bound: "max".into(),
                limit: limit as f64,
                actual: None,
                passed: true,
                margin: None,
                skipped: true,
                note: Some(
                    "no baseline run to compare against; give one with --baseline RUN".to_string(),
                ),
            }),
            Some(comparison) => {
                let mut regressions = check(
                    "regressions",
                    "max",
                    limit as f64,
                    comparison
                        .regressions_of(&report.run_id)
                        .map(|count| count as f64),
                    "the run is not a candidate in the comparison",
                );
                if thresholds.max_regressions.is_none() {
                    regressions.note = Some(
                        "the spec sets no gate.max_regressions: a baseline allows none".to_string(),
                    );
                }
                checks.push(regressions);
            }
        }
    }
    if let Some(limit) = thresholds.max_monthly_cost_usd {
        checks.push(check(
            "monthly_cost_usd",
            "max",
            limit,
            projection
                .and_then(|projection| projection.monthly_cost_usd.as_ref())
                .map(|figure| figure.estimate.value),
            "no projected cost (a production profile and priced model calls are needed)",
        ));
    }
    if let Some(limit) = thresholds.max_p95_cost_usd {
        let projected = projection
            .and_then(|projection| projection.p95_cost_usd_per_issue.as_ref())
            .map(|figure| figure.estimate.value);
        let measured = report.cost_usd.map(|cost| cost.distribution.p95);
        checks.push(check(
            "p95_cost_usd",
            "max",
            limit,
            projected.or(measured),
            "no priced model calls",
        ));
    }
    if let Some(limit) = thresholds.max_p95_seconds {
        let projected = projection
            .and_then(|projection| projection.p95_seconds_per_issue.as_ref())
            .map(|figure| figure.estimate.value);
        let measured = report.seconds.map(|seconds| seconds.distribution.p95);
        checks.push(check(
            "p95_seconds",
            "max",
            limit,
            projected.or(measured),
            "no issue finished",
        ));
    }
    if let Some(limit) = thresholds.max_violations {
        checks.push(check(
            "violations",
            "max",
            limit as f64,
            Some(report.boundary.violations as f64),
            "",
        ));
    }
    if let Some(projection) = projection {
        for (name, figure) in [
            ("budget_monthly_cost_usd", &projection.monthly_cost_usd),
            ("budget_p95_cost_usd", &projection.p95_cost_usd_per_issue),
            ("budget_p95_seconds", &projection.p95_seconds_per_issue),
        ] {
            let Some(figure) = figure else { continue };
            let Some(budget) = &figure.against_budget else {
                continue;
            };
            let estimate = figure.estimate;
            // A bootstrap over a handful of issues is too narrow to call a budget exceeded
            // (a p95 of three issues is nearly their maximum every time).
            let enough = projection.sample_issues >= MIN_ISSUES_FOR_A_BUDGET;
            let passed = budget.standing != Standing::Over || !enough;
            checks.push(GateCheck {
                name: name.into(),
                bound: "max".into(),
                limit: budget.reference,
                actual: Some(estimate.value),
                passed,
                // Headroom of the point estimate, as every other check gives it.
                margin: Some(budget.reference - estimate.value),
                skipped: false,
                note: match budget.standing {
                    Standing::Over if !enough => Some(format!(
                        "its whole 95% interval is over, but on {} issues; at least \
                         {MIN_ISSUES_FOR_A_BUDGET} decide a budget",
                        projection.sample_issues
                    )),
                    Standing::Over => Some("its whole 95% interval is over".to_string()),
                    Standing::Undecided => Some(format!(
                        "undecided, its 95% interval reaches over{}",
                        budget
                            .issues_to_decide
                            .map(|issues| format!(" (about {issues} issues would decide it)"))
                            .unwrap_or_default()
                    )),
                    Standing::Within => None,
                },
            });
        }
    }
    GateResult {
        run_id: report.run_id.clone(),
        passed: checks.iter().all(|check| check.passed),
        checks,
    }
}

fn check(
    name: &'static str,
    bound: &'static str,
    limit: f64,
    actual: Option<f64>,
    missing: &str,
) -> GateCheck {
    let margin = actual.map(|actual| {
        if bound == "min" {
            actual - limit
        } else {
            limit - actual
        }
    });
    GateCheck {
        name: name.into(),
        bound: bound.into(),
        limit,
        actual,
        passed: margin.is_some_and(|margin| margin >= 0.0),
        margin,
        skipped: false,
        note: actual.is_none().then(|| missing.to_string()),
    }
}
