//! `/runs/{run}/issues/{issue}`: one issue of a run, its trials side by side — each with its
//! outcome (status, reason, time, cost, calls), its answer, how it was graded, what it printed,
//! its boundary events (database changes, proposals, violations) and its timeline of steps
//! (model calls, tool calls, spans, refused requests), each step opening to its recorded
//! detail. Steps are read a page at a time per trial (`?page=N`), never the issue's all.
//!
//! Everything here but the numbers was written by the agent or the issue: it goes through
//! `xml_text` (or `json_block`, which uses it).

use std::fmt::Write;

use agentpod_report::TimelineEntry;
use agentpod_report::inert_text::xml_text;
use agentpod_report::render::format::{dollars, number, seconds};
use agentpod_report::render::timeline_entry_start;
use agentpod_store::{BoundaryDetail, BoundaryEventRecord, OutcomeRecord, Page, StepRecord};

use super::{issue_href, json_block, page_end, page_start, pager, run_href};
use crate::error::ViewError;
use crate::source::RunSource;

/// Steps per trial on one page.
pub(crate) const STEPS_PER_PAGE: usize = 100;

pub(crate) async fn page(
    source: &dyn RunSource,
    run: &str,
    issue_id: &str,
    page: usize,
) -> Result<String, ViewError> {
    let run = source.run(run).await?;
    let Some(records) = source.issue(&run.id, issue_id).await? else {
        return Err(ViewError::NotFound(format!(
            "run {} has no issue `{issue_id}`",
            run.id
        )));
    };
    let steps_page = Page {
        offset: (page - 1) * STEPS_PER_PAGE,
        limit: STEPS_PER_PAGE,
    };
    // Every trial the run holds anything of: outcomes, steps or events.
    let mut trials: Vec<u32> = records
        .outcomes
        .iter()
        .map(|outcome| outcome.trial)
        .chain(records.step_counts.iter().map(|(trial, _)| *trial))
        .chain(records.events.iter().map(|event| event.trial))
        .collect();
    trials.sort_unstable();
    trials.dedup();
    let mut out = String::with_capacity(64 * 1024);
    page_start(
        &mut out,
        &format!("issue {issue_id} · run {} · agentpod view", run.id),
        &[
            (run_href(&run.id), format!("run {}", run.id)),
            (
                format!("{}/proposals", run_href(&run.id)),
                "proposals".to_string(),
            ),
        ],
    );
    let _ = write!(
        out,
        "<h1>Issue <code>{}</code></h1><p class=\"meta\">run <a href=\"{}\"><code>{}</code></a> · {} · agent <code>{}</code> · {} trial{}</p>",
        xml_text(issue_id),
        xml_text(&run_href(&run.id)),
        xml_text(&run.id),
        xml_text(&run.spec_name),
        xml_text(&run.agent_version),
        trials.len(),
        if trials.len() == 1 { "" } else { "s" }
    );
    let _ = write!(
        out,
        "<details class=\"issue-record\"><summary>the issue as the run sampled it</summary>{}</details>",
        json_block(&records.issue)
    );
    let mut more = false;
    out.push_str("<h2>Trials side by side</h2><div class=\"trials\">");
    for trial in &trials {
        let steps = source
            .trial_steps(&run.id, issue_id, *trial, steps_page)
            .await?;
        let recorded = records
            .step_counts
            .iter()
            .find(|(at, _)| at == trial)
            .map_or(0, |(_, count)| *count);
        more |= steps_page.offset + steps.len() < recorded;
        let outcome = records
            .outcomes
            .iter()
            .find(|outcome| outcome.trial == *trial);
        let events: Vec<&BoundaryEventRecord> = records
            .events
            .iter()
            .filter(|event| event.trial == *trial)
            .collect();
        trial_column(
            &mut out, *trial, outcome, &events, &steps, steps_page, recorded,
        );
    }
    out.push_str("</div>");
    pager(&mut out, &issue_href(&run.id, issue_id), page, more);
    page_end(&mut out);
    Ok(out)
}

fn trial_column(
    out: &mut String,
    trial: u32,
    outcome: Option<&OutcomeRecord>,
    events: &[&BoundaryEventRecord],
    steps: &[StepRecord],
    page: Page,
    recorded: usize,
) {
    let _ = write!(
        out,
        "<section class=\"trial\" data-trial=\"{trial}\"><h3>trial {trial}</h3>"
    );
    match outcome {
        Some(outcome) => outcome_facts(out, outcome),
        None => out.push_str("<p class=\"muted\">no outcome recorded (not run, or running)</p>"),
    }
    if !events.is_empty() {
        let _ = write!(
            out,
            "<h4>At the boundary ({})</h4><ol class=\"timeline events\">",
            events.len()
        );
        for event in events {
            let entry = TimelineEntry::of_event(event);
            timeline_entry_start(out, &entry);
            let _ = write!(
                out,
                "<details><summary>detail</summary>{}</details></li>",
                json_block(&event_detail(&event.detail))
            );
        }
        out.push_str("</ol>");
    }
    let shown_to = page.offset + steps.len();
    let _ = write!(
        out,
        "<h4>Steps {}</h4><ol class=\"timeline steps\" start=\"{}\">",
        if recorded == 0 {
            "(none recorded)".to_string()
        } else if steps.is_empty() {
            format!("(none on this page of {recorded})")
        } else {
            format!("{}–{shown_to} of {recorded}", page.offset + 1)
        },
        page.offset + 1
    );
    for step in steps {
        let entry = TimelineEntry::of_step(step);
        timeline_entry_start(out, &entry);
        let _ = write!(
            out,
            "<details><summary>detail</summary>{}</details></li>",
            json_block(&step.detail.to_json())
        );
    }
    out.push_str("</ol></section>");
}

/// The outcome's figures (each with its exact value in `data-value`) and texts.
fn outcome_facts(out: &mut String, outcome: &OutcomeRecord) {
    let status = outcome.status.as_str();
    let usage = &outcome.usage;
    let _ = write!(
        out,
        "<dl><dt>status</dt><dd class=\"status {status}\" data-value=\"{status}\">{status}</dd><dt>reason</dt><dd class=\"reason\">{}</dd><dt>time</dt><dd class=\"duration\" data-value=\"{}\">{}</dd><dt>cost</dt><dd class=\"cost\"{}>{}</dd><dt>model calls</dt><dd class=\"llm-calls\" data-value=\"{}\">{}</dd><dt>tool calls</dt><dd class=\"tool-calls\" data-value=\"{}\">{}</dd><dt>tokens</dt><dd class=\"tokens\">{} in / {} out</dd><dt>pod</dt><dd>{}</dd></dl>",
        xml_text(&outcome.reason),
        outcome.duration_ms,
        seconds(outcome.duration_ms as f64 / 1000.0),
        usage
            .cost_usd
            .map(|cost| format!(" data-value=\"{cost}\""))
            .unwrap_or_default(),
        usage
            .cost_usd
            .map(dollars)
            .unwrap_or_else(|| "—".to_string()),
        usage.llm_calls,
        number(f64::from(usage.llm_calls)),
        usage.tool_calls,
        number(f64::from(usage.tool_calls)),
        usage.input_tokens,
        usage.output_tokens,
        outcome.pod_index
    );
    if let Some(output) = &outcome.output {
        let _ = write!(out, "<h4>Answer</h4>{}", json_block(output));
    }
    let _ = write!(
        out,
        "<details><summary>grade</summary>{}</details><details><summary>how the agent ended</summary>{}</details>",
        json_block(&outcome.grade),
        json_block(&outcome.exit)
    );
    for (name, text, bytes, truncated) in [
        (
            "stdout",
            &outcome.stdout,
            outcome.stdout_bytes,
            outcome.stdout_truncated,
        ),
        (
            "stderr",
            &outcome.stderr,
            outcome.stderr_bytes,
            outcome.stderr_truncated,
        ),
    ] {
        if bytes > 0 {
            let _ = write!(
                out,
                "<details><summary>{name} ({bytes} bytes{})</summary><pre>{}</pre></details>",
                if truncated { ", cut" } else { "" },
                xml_text(text)
            );
        }
    }
}

/// A boundary event's detail, as its own JSON.
fn event_detail(detail: &BoundaryDetail) -> serde_json::Value {
    detail.to_json()
}
