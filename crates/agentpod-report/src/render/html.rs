//! One self-contained HTML page: inline CSS and inline SVG, no script, font or network, so it
//! opens the same from a CI artifact as from a laptop. Per-issue rows open (`<details>`) to the
//! issue's timeline.
//!
//! `agentpod view` serves these same pages with an [`HtmlChrome`]: its links at the top, each
//! issue's id linked to the issue's own page, a reload while the run is running. The chrome
//! adds links; the figures and their markup are this module's alone.

use std::fmt::Write;

use crate::render::inert_text::xml_text;
use agentpod_store::OutcomeStatus;

use crate::figures::comparison::Comparison;
use crate::figures::run_report::{IssueRow, RunReport, TimelineEntry, figures};

use super::format::{dollars, measured_pass_rate, number, percent, points, range, seconds, signed};
use super::svg::{EstimateRow, ShareRow, estimates, histogram, shares};
use super::terminal::{Show, measures};

const STYLE: &str = r#"
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --soft: #f6f8fa; --good: #1a7f37;
  --bad: #cf222e; --warn: #9a6700; --bar: #0969da; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 24px; color: var(--ink);
  font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 17px; margin: 28px 0 10px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta, .muted { color: var(--muted); }
.verdict { font-size: 16px; font-weight: 600; padding: 10px 14px; border-radius: 6px;
  border-left: 5px solid var(--good); background: #dafbe1; }
.verdict.bad { border-color: var(--bad); background: #ffebe9; }
.concerns { margin: 8px 0 0; padding-left: 20px; color: var(--warn); }
.cards { margin-top: 16px; display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .value { font-size: 20px; font-weight: 600; } .card .label { color: var(--muted); font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { max-width: 100%; height: auto; overflow: visible; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg .tick, svg .label { font-size: 11px; fill: var(--muted); } svg .label { fill: var(--ink); }
svg .bar { fill: var(--bar); } svg .bar.over { fill: var(--bad); } svg .bar.undecided { fill: var(--warn); }
svg .bar.within { fill: var(--good); } svg .track { fill: var(--soft); }
svg .axis { stroke: var(--line); } svg .whisker { stroke: var(--ink); stroke-width: 1.5; fill: none; }
svg .budget { stroke: var(--bad); stroke-width: 2; stroke-dasharray: 4 2; }
svg .current { stroke: var(--muted); stroke-width: 2; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 8px;
  border-bottom: 1px solid var(--line); } th { background: var(--soft); font-weight: 600; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
.issue summary { display: grid; grid-template-columns: 14em 7em 6em 5em 6em 1fr; gap: 8px;
  padding: 5px 8px; border-bottom: 1px solid var(--line); cursor: pointer; list-style: none; }
.issue summary::-webkit-details-marker { display: none; }
.issue summary.head { font-weight: 600; background: var(--soft); cursor: default; }
.issue summary span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.issue[open] summary { background: var(--soft); }
.status { font-weight: 600; } .status.passed { color: var(--good); } .status.failed { color: var(--bad); }
.status.errored, .status.infrastructure_error { color: var(--warn); }
.timeline { margin: 6px 0 12px 2em; padding: 0; list-style: none; font-size: 13px; }
.timeline li { padding: 2px 0; border-left: 2px solid var(--line); padding-left: 10px; }
.timeline li.failed { border-color: var(--bad); color: var(--bad); }
.timeline .kind { display: inline-block; width: 6.5em; color: var(--muted); }
.timeline .when { color: var(--muted); margin-left: 8px; font-size: 12px; }
.flip.regression td:first-child { color: var(--bad); font-weight: 600; }
"#;

/// An issue's address, from the run's id and the issue's.
pub type IssueHref = dyn Fn(&str, &str) -> String;

/// What a page adds when it is served by `agentpod view` rather than written to a file. The
/// default adds nothing: the page `report --format html` writes.
#[derive(Default)]
pub struct HtmlChrome<'a> {
    /// Markup put first in the body: the server's own links, built and escaped by the server.
    pub nav: Option<String>,
    /// CSS for the server's own pages, after the shared style.
    pub style: &'static str,
    /// An issue's own page, from the run's id and the issue's (the result is escaped here, as
    /// an attribute): the report's issue rows and the comparison's flips link to it.
    pub issue_href: Option<&'a IssueHref>,
    /// Reload the page every so many seconds (a run still running).
    pub refresh_seconds: Option<u32>,
}

/// The start of a page (doctype, head with the shared style, the chrome's links), up to the
/// body's first content; [`html_page_end`] closes it.
pub fn html_page_start(out: &mut String, title: &str, chrome: &HtmlChrome) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{}<title>{}</title><style>{STYLE}{}</style></head><body>\n{}",
        chrome
            .refresh_seconds
            .map(|seconds| format!("<meta http-equiv=\"refresh\" content=\"{seconds}\">"))
            .unwrap_or_default(),
        xml_text(title),
        chrome.style,
        chrome.nav.as_deref().unwrap_or_default()
    );
}

/// The end of a page [`html_page_start`] began.
pub fn html_page_end(out: &mut String) {
    out.push_str("</body></html>\n");
}

/// The start of one timeline line (`<li>` with its kind, label and times), left open for what a
/// page adds under it; the report's timelines and the viewer's issue page write it alike.
pub fn timeline_entry_start(out: &mut String, entry: &TimelineEntry) {
    let _ = write!(
        out,
        "<li class=\"{}{}\"><span class=\"kind\">{}</span>{}",
        entry.kind,
        if entry.failed { " failed" } else { "" },
        entry.kind.replace('_', " "),
        xml_text(&entry.label)
    );
    if let Some(latency) = entry.latency_ms {
        let _ = write!(
            out,
            "<span class=\"when\">{}</span>",
            seconds(latency / 1000.0)
        );
    }
    if let Some(started) = &entry.started_at {
        let _ = write!(out, "<span class=\"when\">{}</span>", xml_text(started));
    }
}

pub(crate) fn report(report: &RunReport) -> String {
    report_page(report, &HtmlChrome::default())
}

/// The report page, with `chrome` around it (`agentpod view`'s run page).
pub fn report_page(report: &RunReport, chrome: &HtmlChrome) -> String {
    // About 300 bytes per issue row plus its timeline.
    let mut out = String::with_capacity(32 * 1024 + report.issues.len() * 1200);
    html_page_start(
        &mut out,
        &format!(
            "{} · agent {} · agentpod report",
            report.spec, report.agent_version
        ),
        chrome,
    );
    let _ = write!(
        out,
        "<header><h1>{} · agent <code>{}</code></h1><p class=\"meta\">run <code>{}</code> · {} · {} pod{} · {}{}</p><p class=\"verdict{}\">{}</p>",
        xml_text(&report.spec),
        xml_text(&report.agent_version),
        xml_text(&report.run_id),
        xml_text(&report.runtime),
        report.pods,
        if report.pods == 1 { "" } else { "s" },
        xml_text(&report.status),
        xml_text(&super::terminal::set_note(report.evaluation_set.as_ref())),
        if report.verdict.ok { "" } else { " bad" },
        xml_text(&report.verdict.headline)
    );
    if !report.verdict.concerns.is_empty() {
        out.push_str("<ul class=\"concerns\">");
        for concern in &report.verdict.concerns {
            let _ = write!(out, "<li>{}</li>", xml_text(concern));
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<p class=\"gate\">Gate: {}</p>",
        xml_text(&super::terminal::gate_line(&report.gate))
    );
    out.push_str("</header>\n<section class=\"cards\">");
    let quality = &report.quality;
    if let Some(rate) = &quality.pass_rate {
        card(
            &mut out,
            &percent(rate.value),
            &format!(
                "pass rate · {} of {} · 95% CI {}–{}",
                quality.passed,
                quality.finished(),
                percent(rate.low),
                percent(rate.high)
            ),
        );
    }
    if let Some(all) = &quality.pass_all_trials {
        card(
            &mut out,
            &percent(all.value),
            &format!("pass^{} (every trial passed)", quality.trials),
        );
    }
    for (name, summary, show) in measures(report) {
        card(
            &mut out,
            &show(summary.distribution.median),
            &format!(
                "median {name} per issue · p95 {} · max {}",
                show(summary.distribution.p95),
                show(summary.distribution.max)
            ),
        );
    }
    card(
        &mut out,
        &report.boundary.violations.to_string(),
        &format!(
            "boundary violations · {} changes · {} proposals",
            report.boundary.changes, report.boundary.proposals
        ),
    );
    if report.throttling.any() {
        card(
            &mut out,
            &report.throttling.model_retries.to_string(),
            &format!(
                "provider throttling: {}",
                super::format::throttling_sentence(&report.throttling)
            ),
        );
    }
    for (name, sentence) in super::format::side_model_sentences(&report.side_models) {
        card(&mut out, name, &sentence);
    }
    out.push_str("</section>\n<h2>Distributions per issue</h2><div class=\"charts\">");
    let samples = &report.trial_samples;
    out.push_str(&histogram("Cost per issue", &samples.cost_usd, dollars));
    out.push_str(&histogram(
        "Tool calls per issue",
        &samples.tool_calls,
        number,
    ));
    out.push_str(&histogram("Time per issue", &samples.seconds, seconds));
    out.push_str("</div>\n");
    if !report.categories.is_empty() {
        let _ = write!(
            out,
            "<h2>Pass rate by {}</h2>",
            xml_text(report.category_field.as_deref().unwrap_or("category"))
        );
        let rows: Vec<ShareRow> = report
            .categories
            .iter()
            .map(|category| ShareRow {
                label: category.value.clone(),
                share: category.pass_rate.value,
                low: category.pass_rate.low,
                high: category.pass_rate.high,
                note: format!(
                    "{} · {} of {}{}",
                    percent(category.pass_rate.value),
                    category.passed_trials,
                    category.finished_trials,
                    if category.finished_trials > category.issues {
                        format!(" trials · {} issues", category.issues)
                    } else {
                        String::new()
                    }
                ),
            })
            .collect();
        out.push_str(&shares("Pass rate with 95% interval", &rows));
    }
    if let Some(projection) = &report.projection {
        let _ = write!(
            out,
            "\n<h2>Projection to production</h2><p>{} issues/month{}, from {} finished issues.</p>",
            number(projection.issues_per_month),
            projection
                .category_field
                .as_ref()
                .map(|field| format!(
                    ", weighted by {} ({})",
                    xml_text(field),
                    projection
                        .categories
                        .iter()
                        .map(|category| format!(
                            "{} {}",
                            xml_text(&category.value),
                            percent(category.share)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .unwrap_or_default(),
            projection.sample_issues
        );
        if let Some(rate) = &projection.pass_rate {
            let _ = write!(
                out,
                "<p class=\"mix-pass-rate\">Pass rate at the production mix: <strong>{}</strong> (95% CI {}), against {} measured on the sample.</p>",
                percent(rate.value),
                range(rate, percent),
                measured_pass_rate(report)
            );
        }
        let mut rows = Vec::new();
        for (name, figure, show) in figures(projection) {
            let estimate = &figure.estimate;
            let mut note = format!(
                "{} ({}–{})",
                show(estimate.value),
                show(estimate.low),
                show(estimate.high)
            );
            let mut standing = "";
            if let Some(budget) = &figure.against_budget {
                standing = budget.standing.as_str();
                let _ = write!(note, " · {} budget", budget.standing.as_str());
                if let Some(issues) = budget.issues_to_decide {
                    let _ = write!(note, " (~{issues} issues)");
                }
            }
            if let Some(current) = &figure.against_current {
                let _ = write!(note, " · today {}", show(current.reference));
            }
            rows.push(EstimateRow {
                label: name.to_string(),
                value: estimate.value,
                low: estimate.low,
                high: estimate.high,
                standing,
                budget: figure.against_budget.map(|budget| budget.reference),
                current: figure.against_current.map(|current| current.reference),
                note,
            });
        }
        out.push_str(&estimates(
            "Projected figures against budget and today's handling",
            &rows,
        ));
        out.push_str("<table><tr><th>figure</th><th class=\"number\">estimate</th><th class=\"number\">95% interval</th><th>budget</th><th>today</th></tr>");
        for (name, figure, show) in figures(projection) {
            let assessment = |assessment: Option<&crate::figures::assessment::Assessment>,
                              show: Show| {
                assessment
                    .map(|assessment| {
                        format!(
                            "{} {}{}",
                            assessment.standing.as_str(),
                            show(assessment.reference),
                            assessment
                                .issues_to_decide
                                .map(|issues| format!(" · about {issues} issues would decide it"))
                                .unwrap_or_default()
                        )
                    })
                    .unwrap_or_default()
            };
            let _ = write!(
                out,
                "<tr><td>{name}</td><td class=\"number\">{}</td><td class=\"number\">{}–{}</td><td>{}</td><td>{}</td></tr>",
                xml_text(&show(figure.estimate.value)),
                xml_text(&show(figure.estimate.low)),
                xml_text(&show(figure.estimate.high)),
                xml_text(&assessment(figure.against_budget.as_ref(), show)),
                xml_text(&assessment(figure.against_current.as_ref(), show))
            );
        }
        out.push_str("</table>\n");
    }
    let _ = write!(
        out,
        "<h2>Issues</h2><div class=\"issues\"><details class=\"issue\"><summary class=\"head\"><span>issue</span><span>status</span><span>cost</span><span>tools</span><span>time</span><span>reason</span></summary></details>"
    );
    // The first issue not passed opens, so the page shows what a timeline holds.
    let mut open_first = true;
    for issue in report.failed_issues().chain(
        report
            .issues
            .iter()
            .filter(|issue| issue.status == OutcomeStatus::Passed),
    ) {
        issue_row(
            &mut out,
            report,
            issue,
            open_first && issue.status != OutcomeStatus::Passed,
            chrome,
        );
        open_first = false;
    }
    let _ = write!(
        out,
        "</div>\n<p class=\"meta\">Pass rate intervals: Wilson 95%. Other intervals: percentile bootstrap over issues, {} resamples, seed {}.</p></body></html>\n",
        report.resamples, report.seed
    );
    out
}

fn card(out: &mut String, value: &str, label: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
        xml_text(value),
        xml_text(label)
    );
}

fn issue_row(
    out: &mut String,
    report: &RunReport,
    issue: &IssueRow,
    open: bool,
    chrome: &HtmlChrome,
) {
    let status = issue.status.as_str();
    let href = chrome
        .issue_href
        .map(|href| xml_text(&href(&report.run_id, &issue.issue_id)));
    let issue_id = match &href {
        Some(href) => format!(
            "<a class=\"issue-link\" href=\"{href}\">{}</a>",
            xml_text(&issue.issue_id)
        ),
        None => xml_text(&issue.issue_id),
    };
    let _ = write!(
        out,
        "<details class=\"issue\"{}><summary><span>{issue_id}</span><span class=\"status {status}\">{status}{}</span><span>{}</span><span>{}</span><span>{}</span><span>{}</span></summary>",
        if open { " open" } else { "" },
        if issue.trials > 1 {
            format!(" {}/{}", issue.passed_trials, issue.trials)
        } else {
            String::new()
        },
        issue
            .cost_usd
            .map(dollars)
            .unwrap_or_else(|| "—".to_string()),
        number(issue.tool_calls),
        seconds(issue.seconds),
        xml_text(&issue.reason)
    );
    out.push_str("<ol class=\"timeline\">");
    match report.timelines.get(&issue.issue_id) {
        Some(entries) if !entries.is_empty() => {
            for entry in entries {
                timeline_entry_start(out, entry);
                out.push_str("</li>");
            }
        }
        _ => match &href {
            Some(href) => {
                let _ = write!(
                    out,
                    "<li class=\"muted\"><a href=\"{href}\">the issue's timeline and trials</a></li>"
                );
            }
            None => out.push_str("<li class=\"muted\">no steps recorded</li>"),
        },
    }
    out.push_str("</ol></details>\n");
}

pub(crate) fn comparison(comparison: &Comparison) -> String {
    comparison_page(comparison, &HtmlChrome::default())
}

/// The comparison page, with `chrome` around it (`agentpod view`'s compare page).
pub fn comparison_page(comparison: &Comparison, chrome: &HtmlChrome) -> String {
    let mut out = String::with_capacity(16 * 1024);
    html_page_start(&mut out, "agentpod comparison", chrome);
    let regressions: usize = comparison
        .runs
        .iter()
        .filter_map(|run| run.against_baseline.as_ref())
        .map(|difference| difference.regressions)
        .sum();
    let _ = write!(
        out,
        "<header><h1>Comparison of {} runs</h1><p class=\"meta\">on the {} issues every run finished · baseline <code>{}</code></p><p class=\"verdict{}\">{} regression{}</p></header>",
        comparison.runs.len(),
        comparison.shared_issues,
        xml_text(&comparison.runs[0].run_id),
        if regressions > 0 { " bad" } else { "" },
        regressions,
        if regressions == 1 { "" } else { "s" }
    );
    if !comparison.warnings.is_empty() {
        out.push_str("<ul class=\"concerns\">");
        for warning in &comparison.warnings {
            let _ = write!(out, "<li>{}</li>", xml_text(warning));
        }
        out.push_str("</ul>");
    }
    let rows: Vec<ShareRow> = comparison
        .runs
        .iter()
        .filter_map(|run| {
            let rate = run.pass_rate?;
            Some(ShareRow {
                label: run.agent_version.clone(),
                share: rate.value,
                low: rate.low,
                high: rate.high,
                note: format!("{} · {} passed", percent(rate.value), run.passed),
            })
        })
        .collect();
    out.push_str("<h2>Pass rate</h2>");
    out.push_str(&shares("Pass rate on shared issues, 95% interval", &rows));
    out.push_str("<h2>Side by side</h2><table><tr><th>run</th><th>agent</th><th class=\"number\">pass rate</th><th class=\"number\">Δ pass rate</th><th class=\"number\">McNemar p</th><th class=\"number\">Δ cost/issue</th><th class=\"number\">Δ tool calls</th><th class=\"number\">Δ time</th><th class=\"number\">violations</th></tr>");
    for run in &comparison.runs {
        let difference = run.against_baseline.as_ref();
        let delta = |estimate: Option<&crate::figures::estimate::Estimate>, show: Show| {
            estimate
                .map(|estimate| {
                    format!(
                        "{} ({} to {})",
                        signed(estimate.value, show),
                        signed(estimate.low, show),
                        signed(estimate.high, show)
                    )
                })
                .unwrap_or_default()
        };
        let _ = write!(
            out,
            "<tr><td><code>{}</code>{}</td><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td></tr>",
            xml_text(&run.run_id),
            run.evaluation_set
                .as_ref()
                .map(|set| format!(
                    "<br><span class=\"muted\">set sha256:{} ({} issues)</span>",
                    xml_text(set.short_digest()),
                    set.issues
                ))
                .unwrap_or_default(),
            xml_text(&run.agent_version),
            run.pass_rate
                .map(|rate| percent(rate.value))
                .unwrap_or_default(),
            difference
                .map(|d| delta(Some(&d.pass_rate.mean), points))
                .unwrap_or_else(|| "baseline".to_string()),
            difference
                .map(|d| format!("{:.3}", d.mcnemar_p_value))
                .unwrap_or_default(),
            delta(
                difference
                    .and_then(|d| d.cost_usd.as_ref())
                    .map(|c| &c.mean),
                dollars
            ),
            delta(difference.map(|d| &d.tool_calls.mean), number),
            delta(difference.map(|d| &d.seconds.mean), seconds),
            run.violations
        );
    }
    out.push_str("</table>");
    for run in &comparison.runs {
        let Some(difference) = &run.against_baseline else {
            continue;
        };
        let _ = write!(
            out,
            "<h2>Flipped in <code>{}</code>: {} regressions, {} improvements</h2>",
            xml_text(&run.run_id),
            difference.regressions,
            difference.improvements
        );
        if difference.flips.is_empty() {
            out.push_str("<p class=\"muted\">No issue flipped.</p>");
            continue;
        }
        out.push_str("<table><tr><th>change</th><th>issue</th><th>baseline → this run</th><th>reason</th></tr>");
        for flip in &difference.flips {
            let _ = write!(
                out,
                "<tr class=\"flip{}\"><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
                if flip.regression { " regression" } else { "" },
                if flip.regression {
                    "regressed"
                } else {
                    "improved"
                },
                match chrome.issue_href {
                    Some(href) => format!(
                        "<a class=\"flip-link\" href=\"{}\"><code>{}</code></a>",
                        xml_text(&href(&run.run_id, &flip.issue_id)),
                        xml_text(&flip.issue_id)
                    ),
                    None => format!("<code>{}</code>", xml_text(&flip.issue_id)),
                },
                flip.baseline.as_str(),
                flip.candidate.as_str(),
                xml_text(&flip.reason)
            );
        }
        out.push_str("</table>");
    }
    html_page_end(&mut out);
    out
}
