//! `/runs`: every run, newest first, filtered by spec and agent version; runs picked to compare;
//! and per spec, the trend over agent versions (pass rate, cost per issue, p95 time,
//! violations), each version by its latest run with a summary.
//!
//! Figures are the run summaries the runs stored when they ended (what `show --json` gives as
//! `summary`), written with the report's number formats; each cell carries the exact number in
//! `data-value`, so a test compares it with the store.

use std::collections::BTreeMap;
use std::fmt::Write;

use agentpod_report::RunSummary;
use agentpod_report::inert_text::xml_text;
use agentpod_report::render::format::{dollars, percent, seconds};
use agentpod_store::RunRecord;

use super::{page_end, page_start, run_href};
use crate::error::ViewError;
use crate::source::{RUNS_LISTED, RunSource};

/// What the runs page is narrowed to.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub(crate) spec: Option<String>,
    pub(crate) agent_version: Option<String>,
}

impl Filter {
    fn admits(&self, run: &RunRecord) -> bool {
        self.spec.as_ref().is_none_or(|spec| *spec == run.spec_name)
            && self
                .agent_version
                .as_ref()
                .is_none_or(|version| *version == run.agent_version)
    }
}

/// The four figures the runs page shows of a run, from its stored summary.
struct Figures {
    pass_rate: Option<f64>,
    cost_per_issue: Option<f64>,
    p95_seconds: Option<f64>,
    violations: Option<usize>,
}

impl Figures {
    fn of(run: &RunRecord) -> Figures {
        let summary: Option<RunSummary> = run
            .summary
            .as_ref()
            .and_then(|summary| serde_json::from_value(summary.clone()).ok());
        Figures {
            pass_rate: summary.as_ref().and_then(|summary| summary.pass_rate),
            cost_per_issue: summary.as_ref().and_then(|summary| {
                summary
                    .usage
                    .cost_usd_per_issue
                    .as_ref()
                    .map(|cost| cost.mean)
            }),
            p95_seconds: summary.as_ref().and_then(|summary| {
                summary
                    .seconds_per_issue
                    .as_ref()
                    .map(|seconds| seconds.p95)
            }),
            violations: summary.as_ref().map(|summary| summary.boundary.violations),
        }
    }

    fn any(&self) -> bool {
        self.pass_rate.is_some() || self.violations.is_some()
    }

    fn cells(&self, out: &mut String) {
        cell(out, "pass-rate", self.pass_rate, percent);
        cell(out, "cost-per-issue", self.cost_per_issue, dollars);
        cell(out, "p95-seconds", self.p95_seconds, seconds);
        cell(
            out,
            "violations",
            self.violations.map(|count| count as f64),
            |count| format!("{count}"),
        );
    }
}

fn cell(out: &mut String, name: &str, value: Option<f64>, show: fn(f64) -> String) {
    match value {
        Some(value) => {
            let _ = write!(
                out,
                "<td class=\"number {name}\" data-value=\"{value}\">{}</td>",
                xml_text(&show(value))
            );
        }
        None => {
            let _ = write!(out, "<td class=\"number {name}\">—</td>");
        }
    }
}

pub(crate) async fn page(source: &dyn RunSource, filter: &Filter) -> Result<String, ViewError> {
    let all = source.runs(RUNS_LISTED).await?;
    let runs: Vec<&RunRecord> = all.iter().filter(|run| filter.admits(run)).collect();
    let mut out = String::with_capacity(16 * 1024 + runs.len() * 600);
    page_start(&mut out, "runs · agentpod view", &[]);
    let _ = write!(
        out,
        "<h1>Runs</h1><p class=\"meta\">{} of {} runs in <code>{}</code></p>",
        runs.len(),
        all.len(),
        xml_text(&source.location())
    );
    filter_form(&mut out, &all, filter);
    out.push_str("<form class=\"compare\" method=\"get\" action=\"/compare\"><table class=\"runs\"><tr><th></th><th>run</th><th>started (UTC)</th><th>spec</th><th>agent</th><th>status</th><th class=\"number\">issues</th><th class=\"number\">pass rate</th><th class=\"number\">cost/issue</th><th class=\"number\">p95 time</th><th class=\"number\">violations</th><th></th></tr>");
    for run in &runs {
        let href = xml_text(&run_href(&run.id));
        let _ = write!(
            out,
            "<tr class=\"run\" data-run=\"{id}\"><td><input type=\"checkbox\" name=\"runs\" value=\"{id}\" aria-label=\"compare {id}\"></td><td><a class=\"run-link\" href=\"{href}\"><code>{id}</code></a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"status {status}\">{status}</td><td class=\"number\">{}{}</td>",
            run.started_at.format("%Y-%m-%d %H:%M"),
            xml_text(&run.spec_name),
            xml_text(&run.agent_version),
            run.issue_count,
            if run.trials > 1 {
                format!(" × {}", run.trials)
            } else {
                String::new()
            },
            id = xml_text(&run.id),
            status = run.status.as_str(),
        );
        Figures::of(run).cells(&mut out);
        let _ = write!(
            out,
            "<td><a href=\"{href}/proposals\">proposals</a></td></tr>"
        );
    }
    out.push_str("</table><p><button type=\"submit\">Compare the checked runs</button> <span class=\"muted\">the first checked is the baseline</span></p></form>");
    trends(&mut out, &runs);
    page_end(&mut out);
    Ok(out)
}

fn filter_form(out: &mut String, runs: &[RunRecord], filter: &Filter) {
    let select =
        |out: &mut String, name: &str, label: &str, values: Vec<&str>, chosen: Option<&str>| {
            let _ = write!(
                out,
                "<label>{label}<select name=\"{name}\"><option value=\"\">all</option>"
            );
            let mut values = values;
            values.sort_unstable();
            values.dedup();
            for value in values {
                let _ = write!(
                    out,
                    "<option{}>{}</option>",
                    if Some(value) == chosen {
                        " selected"
                    } else {
                        ""
                    },
                    xml_text(value)
                );
            }
            out.push_str("</select></label>");
        };
    out.push_str("<form class=\"filter\" method=\"get\" action=\"/runs\">");
    select(
        out,
        "spec",
        "spec",
        runs.iter().map(|run| run.spec_name.as_str()).collect(),
        filter.spec.as_deref(),
    );
    select(
        out,
        "agent",
        "agent version",
        runs.iter().map(|run| run.agent_version.as_str()).collect(),
        filter.agent_version.as_deref(),
    );
    out.push_str("<button type=\"submit\">Filter</button></form>");
}

/// Per spec, one row per agent version (in the order each version first ran), from the
/// version's latest run with a summary.
fn trends(out: &mut String, runs: &[&RunRecord]) {
    let mut by_spec: BTreeMap<&str, Vec<&RunRecord>> = BTreeMap::new();
    for run in runs {
        by_spec.entry(run.spec_name.as_str()).or_default().push(run);
    }
    if by_spec.is_empty() {
        return;
    }
    out.push_str("<h2>Trend per spec over agent versions</h2>");
    for (spec, mut spec_runs) in by_spec {
        spec_runs.sort_by_key(|run| run.started_at);
        // (version, runs of it, its latest run with figures)
        let mut versions: Vec<(&str, usize, Option<&RunRecord>)> = Vec::new();
        for run in spec_runs {
            let at = match versions
                .iter()
                .position(|(version, _, _)| *version == run.agent_version)
            {
                Some(at) => at,
                None => {
                    versions.push((run.agent_version.as_str(), 0, None));
                    versions.len() - 1
                }
            };
            versions[at].1 += 1;
            if Figures::of(run).any() {
                versions[at].2 = Some(run);
            }
        }
        let _ = write!(
            out,
            "<h3>{}</h3>{}<table class=\"trend\" data-spec=\"{}\"><tr><th>agent version</th><th class=\"number\">runs</th><th>latest run</th><th class=\"number\">pass rate</th><th class=\"number\">cost/issue</th><th class=\"number\">p95 time</th><th class=\"number\">violations</th></tr>",
            xml_text(spec),
            sparkline(&versions),
            xml_text(spec)
        );
        for (version, count, latest) in &versions {
            let _ = write!(
                out,
                "<tr class=\"version\"><td>{}</td><td class=\"number\">{count}</td>",
                xml_text(version)
            );
            match latest {
                Some(run) => {
                    let _ = write!(
                        out,
                        "<td><a href=\"{}\"><code>{}</code></a></td>",
                        xml_text(&run_href(&run.id)),
                        xml_text(&run.id)
                    );
                    Figures::of(run).cells(out);
                }
                None => out.push_str("<td class=\"muted\" colspan=\"5\">no finished run</td>"),
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
    }
}

/// The pass rate of each version, as a line (inline SVG), when two or more have one.
fn sparkline(versions: &[(&str, usize, Option<&RunRecord>)]) -> String {
    let rates: Vec<f64> = versions
        .iter()
        .filter_map(|(_, _, run)| Figures::of(run.as_ref()?).pass_rate)
        .collect();
    if rates.len() < 2 {
        return String::new();
    }
    let (width, height, pad) = (240.0, 48.0, 4.0);
    let step = (width - 2.0 * pad) / (rates.len() - 1) as f64;
    let points: Vec<(f64, f64)> = rates
        .iter()
        .enumerate()
        .map(|(at, rate)| {
            (
                pad + step * at as f64,
                pad + (1.0 - rate.clamp(0.0, 1.0)) * (height - 2.0 * pad),
            )
        })
        .collect();
    let mut svg = format!(
        "<svg class=\"trend\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"pass rate over agent versions\"><polyline points=\""
    );
    for (x, y) in &points {
        let _ = write!(svg, "{x:.1},{y:.1} ");
    }
    svg.push_str("\"/>");
    for (x, y) in &points {
        let _ = write!(svg, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\"/>");
    }
    svg.push_str("</svg>");
    svg
}
