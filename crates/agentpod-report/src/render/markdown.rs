//! Markdown for a CI job summary or a pull-request comment: the verdict as the headline, a small
//! table, and the long lists folded into `<details>`. Every piece of text that is not a number
//! goes through `inert_text`: names and reasons come from the agent or its issues, and a summary
//! must not let them add headings, links, images, HTML or table rows.

use std::fmt::Write;

use crate::render::inert_text::{markdown_code, markdown_html, markdown_text};

use crate::figures::comparison::Comparison;
use crate::figures::estimate::Estimate;
use crate::figures::gate::GateResult;
use crate::figures::run_report::{RunReport, figures};

use super::format::{
    count_of, dollars, measured_pass_rate, number, percent, points, range, seconds, signed,
};
use super::terminal::{Show, check_sentence, gate_line, measures};

/// Rows inside a folded list before "and N more": a PR comment has a size limit.
const FOLDED_ROWS: usize = 50;

pub(crate) fn report(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} {} · agent {}\n",
        if report.verdict.ok { "✅" } else { "❌" },
        markdown_text(&report.spec),
        markdown_code(&report.agent_version)
    );
    if let Some(set) = &report.evaluation_set {
        let _ = writeln!(
            out,
            "Evaluation set: `sha256:{}` ({} issues)\n",
            set.short_digest(),
            set.issues
        );
    }
    if let Some(spread) = &report.spread {
        let _ = writeln!(
            out,
            "Spread: {}\n",
            markdown_text(&crate::render::summary_terminal::spread_sentence(spread))
        );
    }
    let _ = writeln!(out, "**{}**\n", markdown_text(&report.verdict.headline));
    for concern in &report.verdict.concerns {
        let _ = writeln!(out, "- ⚠️ {}", markdown_text(concern));
    }
    if !report.verdict.concerns.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "Gate: {}\n", markdown_text(&gate_line(&report.gate)));
    let measures = measures(report);
    if !measures.is_empty() {
        let _ = writeln!(out, "| per issue | median | p95 | max | mean (95% CI) |");
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: |");
        for (name, summary, show) in measures {
            let distribution = &summary.distribution;
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} |",
                show(distribution.median),
                show(distribution.p95),
                show(distribution.max),
                with_interval(&summary.mean, show)
            );
        }
        out.push('\n');
    }
    if report.throttling.any() {
        let _ = writeln!(
            out,
            "Provider throttling: {}\n",
            super::format::throttling_sentence(&report.throttling)
        );
    }
    for (name, sentence) in super::format::side_model_sentences(&report.side_models) {
        let name = if name == "judge" { "Judge" } else { "Customer" };
        let _ = writeln!(out, "{name}: {}\n", markdown_text(&sentence));
    }
    let boundary = &report.boundary;
    let _ = writeln!(
        out,
        "Boundary: {} · {} for approval · {}\n",
        count_of(boundary.changes, "change"),
        count_of(boundary.proposals, "proposal"),
        count_of(boundary.violations, "violation")
    );
    if !report.categories.is_empty() {
        let _ = writeln!(
            out,
            "| by {} | passed | pass rate (95% CI) |",
            markdown_code(report.category_field.as_deref().unwrap_or("category"))
        );
        let _ = writeln!(out, "| --- | ---: | ---: |");
        for category in report.categories.iter().take(FOLDED_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} of {} | {} ({}–{}) |",
                markdown_code(&category.value),
                category.passed_trials,
                category.finished_trials,
                percent(category.pass_rate.value),
                percent(category.pass_rate.low),
                percent(category.pass_rate.high)
            );
        }
        if report.categories.len() > FOLDED_ROWS {
            let _ = writeln!(
                out,
                "| and {} more | | |",
                report.categories.len() - FOLDED_ROWS
            );
        }
        out.push('\n');
    }
    if let Some(projection) = &report.projection {
        let _ = write!(
            out,
            "**Projection** at {} issues/month",
            number(projection.issues_per_month)
        );
        if let Some(field) = &projection.category_field {
            let _ = write!(out, ", weighted by {}", markdown_code(field));
        }
        let _ = writeln!(out, "\n");
        let _ = writeln!(out, "| figure | estimate | 95% CI | budget | today |");
        let _ = writeln!(out, "| --- | ---: | ---: | --- | --- |");
        if let Some(rate) = &projection.pass_rate {
            let _ = writeln!(
                out,
                "| pass rate (production mix) | {} | {} | measured {} | |",
                percent(rate.value),
                range(rate, percent),
                measured_pass_rate(report)
            );
        }
        for (name, figure, show) in figures(projection) {
            let against = |assessment: Option<&crate::figures::assessment::Assessment>| {
                assessment
                    .map(|assessment| {
                        let icon = match assessment.standing {
                            crate::figures::assessment::Standing::Within => "✅",
                            crate::figures::assessment::Standing::Over => "❌",
                            crate::figures::assessment::Standing::Undecided => "❔",
                        };
                        let mut cell = format!(
                            "{icon} {} {}",
                            assessment.standing.as_str(),
                            show(assessment.reference)
                        );
                        if let Some(issues) = assessment.issues_to_decide {
                            let _ = write!(cell, " (~{issues} issues to decide)");
                        }
                        cell
                    })
                    .unwrap_or_default()
            };
            let estimate = &figure.estimate;
            let _ = writeln!(
                out,
                "| {name} | {} | {}–{} | {} | {} |",
                show(estimate.value),
                show(estimate.low),
                show(estimate.high),
                against(figure.against_budget.as_ref()),
                against(figure.against_current.as_ref())
            );
        }
        out.push('\n');
    }
    let failed: Vec<_> = report.failed_issues().collect();
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} issue{} not passed</summary>\n",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(out, "| issue | status | reason |");
        let _ = writeln!(out, "| --- | --- | --- |");
        for issue in failed.iter().take(FOLDED_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                markdown_code(&issue.issue_id),
                issue.status.as_str(),
                markdown_text(&issue.reason)
            );
        }
        if failed.len() > FOLDED_ROWS {
            let _ = writeln!(out, "\n… and {} more", failed.len() - FOLDED_ROWS);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let _ = writeln!(
        out,
        "<sub>run {} · {} · intervals: Wilson (pass rate), bootstrap with {} resamples, seed {}</sub>",
        markdown_code(&report.run_id),
        markdown_text(&report.runtime),
        report.resamples,
        report.seed
    );
    out
}

fn with_interval(estimate: &Estimate, show: Show) -> String {
    format!(
        "{} ({}–{})",
        show(estimate.value),
        show(estimate.low),
        show(estimate.high)
    )
}

fn delta(estimate: &Estimate, show: Show) -> String {
    format!(
        "{} ({} to {})",
        signed(estimate.value, show),
        signed(estimate.low, show),
        signed(estimate.high, show)
    )
}

pub(crate) fn comparison(comparison: &Comparison) -> String {
    let mut out = String::new();
    let regressions: usize = comparison
        .runs
        .iter()
        .filter_map(|run| run.against_baseline.as_ref())
        .map(|difference| difference.regressions)
        .sum();
    let _ = writeln!(
        out,
        "### {} Comparison on {} shared issues: {} regression{}\n",
        if regressions == 0 { "✅" } else { "❌" },
        comparison.shared_issues,
        regressions,
        if regressions == 1 { "" } else { "s" }
    );
    for warning in &comparison.warnings {
        let _ = writeln!(out, "> ⚠️ {}\n", markdown_text(warning));
    }
    let _ = writeln!(
        out,
        "| run | agent | pass rate | Δ pass rate | McNemar p | median cost | Δ cost/issue | median tool calls | Δ tool calls | median time | Δ time | violations |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for run in &comparison.runs {
        let median = |distribution: &Option<crate::Distribution>, show: Show| {
            distribution
                .map(|d| show(d.median))
                .unwrap_or_else(|| "—".to_string())
        };
        let difference = run.against_baseline.as_ref();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            markdown_code(&run.run_id),
            markdown_code(&run.agent_version),
            run.pass_rate
                .map(|rate| percent(rate.value))
                .unwrap_or_else(|| "—".to_string()),
            difference
                .map(|d| delta(&d.pass_rate.mean, points))
                .unwrap_or_else(|| "baseline".to_string()),
            difference
                .map(|d| format!("{:.3}", d.mcnemar_p_value))
                .unwrap_or_default(),
            median(&run.cost_usd, dollars),
            difference
                .and_then(|d| d.cost_usd.as_ref())
                .map(|cost| delta(&cost.mean, dollars))
                .unwrap_or_default(),
            median(&run.tool_calls, number),
            difference
                .map(|d| delta(&d.tool_calls.mean, number))
                .unwrap_or_default(),
            median(&run.seconds, seconds),
            difference
                .map(|d| delta(&d.seconds.mean, seconds))
                .unwrap_or_default(),
            run.violations
        );
    }
    out.push('\n');
    let sets: Vec<String> = comparison
        .runs
        .iter()
        .filter_map(|run| {
            let set = run.evaluation_set.as_ref()?;
            Some(format!(
                "{} `sha256:{}` ({} issues)",
                markdown_code(&run.run_id),
                set.short_digest(),
                set.issues
            ))
        })
        .collect();
    if !sets.is_empty() {
        let _ = writeln!(out, "Evaluation sets: {}\n", sets.join(" · "));
    }
    for run in &comparison.runs {
        let Some(difference) = &run.against_baseline else {
            continue;
        };
        if difference.flips.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<details{}><summary><code>{}</code>: {} regressions, {} improvements</summary>\n",
            if difference.regressions > 0 {
                " open"
            } else {
                ""
            },
            markdown_html(&run.run_id),
            difference.regressions,
            difference.improvements
        );
        let _ = writeln!(out, "| issue | change | reason |");
        let _ = writeln!(out, "| --- | --- | --- |");
        for flip in difference.flips.iter().take(FOLDED_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} {} → {} | {} |",
                markdown_code(&flip.issue_id),
                if flip.regression { "🔻" } else { "🔺" },
                flip.baseline.as_str(),
                flip.candidate.as_str(),
                markdown_text(&flip.reason)
            );
        }
        if difference.flips.len() > FOLDED_ROWS {
            let _ = writeln!(out, "\n… and {} more", difference.flips.len() - FOLDED_ROWS);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out
}

pub(crate) fn gate(gate: &GateResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} Gate {} for run {}\n",
        if gate.passed { "✅" } else { "❌" },
        if gate.passed { "passed" } else { "failed" },
        markdown_code(&gate.run_id)
    );
    for check in &gate.checks {
        let icon = if check.skipped {
            "⏭️"
        } else if check.passed {
            "✅"
        } else {
            "❌"
        };
        let _ = writeln!(out, "- {icon} {}", markdown_text(&check_sentence(check)));
    }
    out
}
