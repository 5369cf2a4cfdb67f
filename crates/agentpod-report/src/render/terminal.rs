//! Plain text for a terminal or a CI log: aligned, no colour, the verdict first. Names, reasons
//! and categories can come from the agent or its issues, so each passes through
//! [`terminal_line`] and cannot act on the terminal.

use std::fmt::Write;

use crate::render::inert_text::terminal_line;

use crate::figures::comparison::Comparison;
use crate::figures::gate::{GateCheck, GateResult};
use crate::figures::run_report::{MeasureSummary, RunReport, figures};

use super::format::{
    count_of, dollars, measured_pass_rate, number, percent, points, range, seconds, signed,
};

/// Issues listed by name before "and N more".
pub(crate) const LISTED_ISSUES: usize = 10;

pub(crate) fn report(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · agent {} · run {} · {}, {} pod{}{}{}",
        terminal_line(&report.spec),
        terminal_line(&report.agent_version),
        terminal_line(&report.run_id),
        terminal_line(&report.runtime),
        report.pods,
        if report.pods == 1 { "" } else { "s" },
        if report.status == "finished" {
            String::new()
        } else {
            format!(" · {}", terminal_line(&report.status))
        },
        set_note(report.evaluation_set.as_ref())
    );
    if let Some(spread) = &report.spread {
        let _ = writeln!(
            out,
            "spread       {}",
            terminal_line(&crate::render::summary_terminal::spread_sentence(spread))
        );
    }
    let _ = writeln!(
        out,
        "verdict      {} {}",
        if report.verdict.ok { "OK" } else { "NOT OK" },
        terminal_line(&report.verdict.headline)
    );
    for concern in &report.verdict.concerns {
        let _ = writeln!(out, "             ! {}", terminal_line(concern));
    }
    let _ = writeln!(out, "gate         {}", gate_line(&report.gate));
    let quality = &report.quality;
    let mut counts = format!(
        "{} passed, {} failed, {} errored",
        quality.passed, quality.failed, quality.errored
    );
    for (count, name) in [
        (quality.interrupted, "interrupted"),
        (quality.infrastructure_errors, "infrastructure errors"),
        (quality.not_run, "not run"),
    ] {
        if count > 0 {
            let _ = write!(counts, ", {count} {name}");
        }
    }
    let _ = writeln!(out, "quality      {counts}");
    if let Some(rate) = &quality.pass_rate {
        let _ = write!(
            out,
            "             pass rate {} (95% CI {}–{})",
            percent(rate.value),
            percent(rate.low),
            percent(rate.high)
        );
        if let Some(all) = &quality.pass_all_trials {
            let _ = write!(
                out,
                " · pass^{} {} ({}–{})",
                quality.trials,
                percent(all.value),
                percent(all.low),
                percent(all.high)
            );
        }
        out.push('\n');
    }
    for (name, summary, show) in measures(report) {
        let _ = writeln!(out, "{name:<12} {}", measure_line(summary, show));
    }
    if report.unpriced_calls > 0 {
        let _ = writeln!(
            out,
            "             {} calls to unpriced models left out of the cost",
            report.unpriced_calls
        );
    }
    if report.throttling.any() {
        let _ = writeln!(
            out,
            "throttling   provider throttling: {}",
            super::format::throttling_sentence(&report.throttling)
        );
    }
    for (name, sentence) in super::format::side_model_sentences(&report.side_models) {
        let _ = writeln!(out, "{name:<12} {}", terminal_line(&sentence));
    }
    let boundary = &report.boundary;
    let _ = writeln!(
        out,
        "boundary     {} · {} · {}",
        count_of(boundary.changes, "change"),
        count_of(boundary.proposals, "proposal"),
        count_of(boundary.violations, "violation")
    );
    if !report.categories.is_empty() {
        let _ = writeln!(
            out,
            "by {}",
            terminal_line(report.category_field.as_deref().unwrap_or("category"))
        );
        for category in &report.categories {
            let _ = writeln!(
                out,
                "  {:<20} {:>4} of {:<4} {} ({}–{}){}",
                terminal_line(&category.value),
                category.passed_trials,
                category.finished_trials,
                percent(category.pass_rate.value),
                percent(category.pass_rate.low),
                percent(category.pass_rate.high),
                if category.finished_trials > category.issues {
                    format!(" · {} issues", category.issues)
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(projection) = &report.projection {
        let _ = write!(
            out,
            "projection   {} issues/month",
            number(projection.issues_per_month)
        );
        if let Some(field) = &projection.category_field {
            let mix: Vec<String> = projection
                .categories
                .iter()
                .map(|category| {
                    format!(
                        "{} {}",
                        terminal_line(&category.value),
                        percent(category.share)
                    )
                })
                .collect();
            let _ = write!(
                out,
                ", weighted by {} ({})",
                terminal_line(field),
                mix.join(", ")
            );
        }
        out.push('\n');
        if !projection.unsampled_categories.is_empty() {
            let _ = writeln!(
                out,
                "             ! not sampled: {} (their share is spread over the others)",
                terminal_line(&projection.unsampled_categories.join(", "))
            );
        }
        if let Some(rate) = &projection.pass_rate {
            let _ = writeln!(
                out,
                "  {:<20} {:>12}  ({}) · measured {}",
                "pass rate (mix)",
                percent(rate.value),
                range(rate, percent),
                measured_pass_rate(report)
            );
        }
        for (name, figure, show) in figures(projection) {
            let estimate = &figure.estimate;
            let mut line = format!(
                "  {name:<20} {:>12}  ({}–{})",
                show(estimate.value),
                show(estimate.low),
                show(estimate.high)
            );
            for (against, assessment) in figure.assessments() {
                let _ = write!(
                    line,
                    " · {} {}: {}",
                    if against == "budget" {
                        "budget"
                    } else {
                        "today"
                    },
                    show(assessment.reference),
                    assessment.standing.as_str()
                );
                if let Some(issues) = assessment.issues_to_decide {
                    let _ = write!(line, " (about {issues} issues would decide it)");
                }
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let failed: Vec<_> = report.failed_issues().collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "not passed:");
        let shown: Vec<(String, &str, String)> = failed
            .iter()
            .take(LISTED_ISSUES)
            .map(|issue| {
                (
                    terminal_line(&issue.issue_id),
                    issue.status.as_str(),
                    terminal_line(&issue.reason),
                )
            })
            .collect();
        let width = shown
            .iter()
            .map(|(issue_id, _, _)| issue_id.len())
            .max()
            .unwrap_or(0);
        for (issue_id, status, reason) in &shown {
            let _ = writeln!(out, "  {issue_id:width$}  {status:<8} {reason}");
        }
        if failed.len() > LISTED_ISSUES {
            let _ = writeln!(out, "  … and {} more", failed.len() - LISTED_ISSUES);
        }
    }
    if !report.outliers.is_empty() {
        let _ = writeln!(out, "outliers:");
        for outlier in report.outliers.iter().take(LISTED_ISSUES) {
            let show: fn(f64) -> String = match outlier.measure.as_ref() {
                "cost_usd" => dollars,
                "seconds" => seconds,
                _ => number,
            };
            let _ = writeln!(
                out,
                "  {}  {} {} (fence {})",
                terminal_line(&outlier.issue_id),
                outlier.measure,
                show(outlier.value),
                show(outlier.fence)
            );
        }
    }
    out
}

pub(crate) type Show = fn(f64) -> String;

pub(crate) fn measures(report: &RunReport) -> Vec<(&'static str, &MeasureSummary, Show)> {
    [
        ("cost", report.cost_usd.as_ref(), dollars as Show),
        ("model calls", report.model_calls.as_ref(), number),
        ("tool calls", report.tool_calls.as_ref(), number),
        ("tokens", report.tokens.as_ref(), number),
        ("time", report.seconds.as_ref(), seconds),
    ]
    .into_iter()
    .filter_map(|(name, summary, show)| Some((name, summary?, show)))
    .collect()
}

fn measure_line(summary: &MeasureSummary, show: Show) -> String {
    let distribution = &summary.distribution;
    format!(
        "median {} · p95 {} · max {} · mean {} ({}–{}) · total {}",
        show(distribution.median),
        show(distribution.p95),
        show(distribution.max),
        show(summary.mean.value),
        show(summary.mean.low),
        show(summary.mean.high),
        show(summary.total.value)
    )
}

/// ` · set sha256:ab12cd34ef56 (300 issues)`, or nothing for a run recorded before sets were
/// versioned.
pub(crate) fn set_note(set: Option<&agentpod_store::EvaluationSet>) -> String {
    set.map(|set| format!(" · set {}", set.label()))
        .unwrap_or_default()
}

pub(crate) fn comparison(comparison: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} runs on {} shared issues (baseline: {} · agent {})",
        comparison.runs.len(),
        comparison.shared_issues,
        terminal_line(&comparison.runs[0].run_id),
        terminal_line(&comparison.runs[0].agent_version)
    );
    for warning in &comparison.warnings {
        let _ = writeln!(out, "warning: {}", terminal_line(warning));
    }
    for run in &comparison.runs {
        let _ = writeln!(
            out,
            "run {} · agent {}{}",
            terminal_line(&run.run_id),
            terminal_line(&run.agent_version),
            set_note(run.evaluation_set.as_ref())
        );
        if let Some(rate) = &run.pass_rate {
            let _ = writeln!(
                out,
                "  pass rate    {} ({} of {}, 95% CI {}–{})",
                percent(rate.value),
                run.passed,
                comparison.shared_issues,
                percent(rate.low),
                percent(rate.high)
            );
        }
        let median = |distribution: &Option<crate::Distribution>, show: Show| {
            distribution
                .map(|d| format!("median {} · p95 {}", show(d.median), show(d.p95)))
                .unwrap_or_else(|| "—".to_string())
        };
        let _ = writeln!(out, "  cost         {}", median(&run.cost_usd, dollars));
        let _ = writeln!(out, "  tool calls   {}", median(&run.tool_calls, number));
        let _ = writeln!(out, "  time         {}", median(&run.seconds, seconds));
        let _ = writeln!(out, "  violations   {}", run.violations);
        if let Some(difference) = &run.against_baseline {
            let delta = |mean: &crate::figures::estimate::Estimate, show: Show| {
                format!(
                    "{} ({} to {})",
                    signed(mean.value, show),
                    signed(mean.low, show),
                    signed(mean.high, show)
                )
            };
            let _ = writeln!(
                out,
                "  vs baseline  pass rate {} · McNemar p = {:.3} · {} regressions, {} improvements",
                delta(&difference.pass_rate.mean, points),
                difference.mcnemar_p_value,
                difference.regressions,
                difference.improvements
            );
            if let Some(cost) = &difference.cost_usd {
                let _ = writeln!(
                    out,
                    "               cost per issue {}",
                    delta(&cost.mean, dollars)
                );
            }
            let _ = writeln!(
                out,
                "               tool calls per issue {} · time per issue {} · violations {:+}",
                delta(&difference.tool_calls.mean, number),
                delta(&difference.seconds.mean, seconds),
                difference.violations
            );
            for flip in difference.flips.iter().take(LISTED_ISSUES) {
                let _ = writeln!(
                    out,
                    "    {} {}  {} → {}  {}",
                    if flip.regression {
                        "regressed"
                    } else {
                        "improved "
                    },
                    terminal_line(&flip.issue_id),
                    flip.baseline.as_str(),
                    flip.candidate.as_str(),
                    terminal_line(&flip.reason)
                );
            }
            if difference.flips.len() > LISTED_ISSUES {
                let _ = writeln!(
                    out,
                    "    … and {} more flips",
                    difference.flips.len() - LISTED_ISSUES
                );
            }
        }
    }
    out
}

/// The gate in one line: passed or failed, over how many checks, and which failed.
pub(crate) fn gate_line(gate: &GateResult) -> String {
    let failed: Vec<&str> = gate
        .failed_checks()
        .map(|check| check.name.as_ref())
        .collect();
    let checks = gate.checks.len();
    if failed.is_empty() {
        format!(
            "passed, {} check{}",
            checks,
            if checks == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "FAILED: {} of {checks} checks ({})",
            failed.len(),
            failed.join(", ")
        )
    }
}

pub(crate) fn gate(gate: &GateResult) -> String {
    let mut out = String::new();
    let failed = gate.failed_checks().count();
    let _ = writeln!(
        out,
        "gate {} for run {}{}",
        if gate.passed { "passed" } else { "FAILED" },
        terminal_line(&gate.run_id),
        if failed > 0 {
            format!(": {failed} of {} checks failed", gate.checks.len())
        } else {
            String::new()
        }
    );
    for check in &gate.checks {
        let mark = if check.skipped {
            "skip"
        } else if check.passed {
            "ok  "
        } else {
            "FAIL"
        };
        let _ = writeln!(out, "  {mark}  {}", terminal_line(&check_sentence(check)));
    }
    out
}

/// One check as a sentence: what was measured, the limit, and by how much.
pub(crate) fn check_sentence(check: &GateCheck) -> String {
    let budget: Option<(&str, Show)> = match check.name.as_ref() {
        "budget_monthly_cost_usd" => Some(("projected monthly cost", dollars)),
        "budget_p95_cost_usd" => Some(("projected p95 cost per issue", dollars)),
        "budget_p95_seconds" => Some(("projected p95 time per issue", seconds)),
        _ => None,
    };
    if let (Some((label, show)), Some(actual)) = (budget, check.actual) {
        let budget = show(check.limit);
        return match &check.note {
            Some(note) if !check.passed => {
                format!(
                    "{label} {} is over the budget {budget}: {note}",
                    show(actual)
                )
            }
            Some(note) => format!(
                "{label} {} against the budget {budget}: {note}",
                show(actual)
            ),
            None => format!("{label} {} within the budget {budget}", show(actual)),
        };
    }
    let (label, show, margin_show): (&str, Show, Show) = match check.name.as_ref() {
        "pass_rate" => ("pass rate", percent, points),
        "regressions" => ("regressions", number, number),
        "monthly_cost_usd" => ("projected monthly cost", dollars, dollars),
        "p95_cost_usd" => ("p95 cost per issue", dollars, dollars),
        "p95_seconds" => ("p95 time per issue", seconds, seconds),
        "violations" => ("boundary violations", number, number),
        "finished_issues" => ("finished issues", number, number),
        other => (other, number, number),
    };
    let limit = format!(
        "{} {}",
        if check.bound == "min" {
            "minimum"
        } else {
            "maximum"
        },
        show(check.limit)
    );
    let measured_note = match (&check.note, check.actual) {
        (Some(note), Some(_)) => format!(" ({note})"),
        _ => String::new(),
    };
    let sentence = match (check.actual, check.margin) {
        (Some(actual), Some(margin)) if margin >= 0.0 => format!(
            "{label} {} within the {limit} (margin {})",
            show(actual),
            margin_show(margin)
        ),
        (Some(actual), Some(margin)) => format!(
            "{label} {} {} the {limit} by {}",
            show(actual),
            if check.bound == "min" {
                "is below"
            } else {
                "exceeds"
            },
            margin_show(-margin)
        ),
        _ if check.skipped => format!(
            "{label} not checked ({limit}): {}",
            check.note.as_deref().unwrap_or("no data")
        ),
        _ => format!(
            "{label}: {limit}, not measured ({})",
            check.note.as_deref().unwrap_or("no data")
        ),
    };
    sentence + &measured_note
}
