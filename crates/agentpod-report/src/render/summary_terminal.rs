//! The summary as plain text: aligned, no colour, short enough to paste into a CI summary.
//! Names and reasons can come from the agent or its issues, so each passes through
//! [`terminal_line`] and cannot act on the terminal.

use std::fmt::Write;

use crate::figures::run_summary::{IssueNote, RunSpread, RunSummary};
use crate::render::format::{
    dollars, milliseconds as format_milliseconds, plural, seconds as format_seconds,
    throttling_sentence,
};
use crate::render::inert_text::terminal_line;

/// How many failed or errored issues are listed by name before "and N more".
const LISTED_ISSUES: usize = 10;

/// The run summary printed after `agentpod run` and by `agentpod show`.
pub fn render_summary(summary: &RunSummary) -> String {
    let mut out = String::new();
    let counts = &summary.issues;
    let _ = writeln!(
        out,
        "{} · agent {} · run {} · {}, {} pod{}{}",
        terminal_line(&summary.spec),
        terminal_line(&summary.agent_version),
        terminal_line(&summary.run_id),
        terminal_line(&summary.runtime),
        summary.pods,
        if summary.pods == 1 { "" } else { "s" },
        if summary.status == "finished" {
            String::new()
        } else {
            format!(" · {}", terminal_line(&summary.status))
        },
    );
    if !summary.verdict_protected {
        let _ = writeln!(
            out,
            "  VERDICT NOT PROTECTED: the agent ran unsandboxed (agent.isolation: none) and could read the answers"
        );
    }
    let mut issue_line = if summary.trials > 1 {
        format!(
            "{} sampled × {} trials = {}: {} passed, {} failed, {} errored",
            counts.sampled,
            summary.trials,
            counts.trials,
            counts.passed,
            counts.failed,
            counts.errored
        )
    } else {
        format!(
            "{} sampled: {} passed, {} failed, {} errored",
            counts.sampled, counts.passed, counts.failed, counts.errored
        )
    };
    if counts.interrupted > 0 {
        let _ = write!(issue_line, ", {} interrupted", counts.interrupted);
    }
    if counts.infrastructure_errors > 0 {
        let _ = write!(
            issue_line,
            ", {} infrastructure errors",
            counts.infrastructure_errors
        );
    }
    if counts.not_run > 0 {
        let _ = write!(issue_line, ", {} not run", counts.not_run);
    }
    let _ = writeln!(out, "  issues      {issue_line}");
    if summary.status == "budget_reached" {
        let _ = writeln!(
            out,
            "  run budget  reached (budgets.max_run_cost_usd): {} issue trial{} not started because of it",
            counts.not_run,
            plural(counts.not_run)
        );
    }
    if let Some(rate) = summary.pass_rate {
        let finished = counts.passed + counts.failed + counts.errored;
        let _ = writeln!(
            out,
            "  pass rate   {:.1}% ({} of {}{})",
            rate * 100.0,
            counts.passed,
            finished,
            if summary.trials > 1 { " trials" } else { "" }
        );
    }
    if let Some(all) = &summary.pass_all_trials {
        let label = format!("pass^{}", summary.trials);
        let _ = writeln!(
            out,
            "  {label:<11} {:.1}% ({} of {} issues passed every trial)",
            all.rate * 100.0,
            all.passed_issues,
            all.finished_issues
        );
    }
    if let Some(seconds) = &summary.seconds_per_issue {
        let _ = writeln!(
            out,
            "  time        median {} · p95 {} · max {} per issue (agent start to end{})",
            format_seconds(seconds.median),
            format_seconds(seconds.p95),
            format_seconds(seconds.max),
            if summary.usage.throttling.throttled_seconds > 0.0 {
                ", less provider throttling"
            } else {
                ""
            }
        );
    }
    if let Some(own) = &summary.own_time {
        let _ = writeln!(
            out,
            "  agentpod    median {} · p95 {} per issue of its own (hand-out {} · boundary events {} · grading {}, medians)",
            format_milliseconds(own.total_ms.median),
            format_milliseconds(own.total_ms.p95),
            format_milliseconds(own.prepare_ms_median),
            format_milliseconds(own.events_ms_median),
            format_milliseconds(own.grade_ms_median)
        );
    }
    let _ = writeln!(
        out,
        "  wall time   {}",
        format_seconds(summary.wall_seconds)
    );
    if let Some(spread) = &summary.spread {
        render_spread(&mut out, spread);
    }
    render_usage(&mut out, &summary.usage);
    let boundary = &summary.boundary;
    if boundary.changes + boundary.proposals + boundary.violations > 0 {
        let _ = writeln!(
            out,
            "  boundary    {} change{} · {} proposal{} for approval · {} violation{}{}",
            boundary.changes,
            plural(boundary.changes),
            boundary.proposals,
            plural(boundary.proposals),
            boundary.violations,
            plural(boundary.violations),
            if boundary.violations > 0 {
                format!(
                    " in {} issue{}",
                    boundary.issues_with_violations,
                    plural(boundary.issues_with_violations)
                )
            } else {
                String::new()
            }
        );
    }
    list_issues(&mut out, "errored", &summary.errored, summary.trials);
    list_issues(&mut out, "failed", &summary.failed, summary.trials);
    list_outliers(&mut out, &summary.usage);
    list_boundary(&mut out, "violations", &boundary.violation_notes);
    list_boundary(&mut out, "proposals", &boundary.proposal_notes);
    out
}

/// How the run was spread over machines: a shard's part, or a merged run's shards, each with
/// its machine and wall time, and the slowest.
fn render_spread(out: &mut String, spread: &RunSpread) {
    let group = terminal_line(&spread.group);
    if let Some(part) = spread.part {
        let host = spread
            .per_shard
            .first()
            .map(|shard| terminal_line(&shard.host))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  shard       {part}/{} of group {group}, on {host} (`agentpod export RUN --bundle FILE` each shard, then `agentpod merge`)",
            spread.shards
        );
        return;
    }
    let machines: Vec<String> = spread
        .machines
        .iter()
        .map(|host| terminal_line(host))
        .collect();
    let _ = writeln!(
        out,
        "  spread      {} shard{} on {} machine{} ({}) · group {group}",
        spread.shards,
        plural(spread.shards as usize),
        machines.len(),
        plural(machines.len()),
        machines.join(", ")
    );
    for shard in &spread.per_shard {
        let _ = writeln!(
            out,
            "    shard {}/{}  {} · {} trial{} · wall {}{}",
            shard.part,
            spread.shards,
            terminal_line(&shard.host),
            shard.trials,
            plural(shard.trials),
            shard
                .wall_seconds
                .map(format_seconds)
                .unwrap_or_else(|| "unknown".to_string()),
            if spread.slowest_part == Some(shard.part) && spread.per_shard.len() > 1 {
                " · slowest"
            } else {
                ""
            }
        );
    }
}

/// The spread in one sentence, for the reports' headers (unescaped: each view escapes it):
/// `3 shards on 2 machines (a, b), group g-…; wall time 1/3 a 12.0 s, 2/3 b 14.1 s (slowest), …`.
pub(crate) fn spread_sentence(spread: &RunSpread) -> String {
    if let Some(part) = spread.part {
        return format!("shard {part}/{} of group {}", spread.shards, spread.group);
    }
    let walls: Vec<String> = spread
        .per_shard
        .iter()
        .map(|shard| {
            format!(
                "{}/{} {} {}{}",
                shard.part,
                spread.shards,
                shard.host,
                shard
                    .wall_seconds
                    .map(format_seconds)
                    .unwrap_or_else(|| "unknown".to_string()),
                if spread.slowest_part == Some(shard.part) && spread.per_shard.len() > 1 {
                    " (slowest)"
                } else {
                    ""
                }
            )
        })
        .collect();
    format!(
        "{} shard{} on {} machine{} ({}), group {}; wall time {}",
        spread.shards,
        plural(spread.shards as usize),
        spread.machines.len(),
        plural(spread.machines.len()),
        spread.machines.join(", "),
        spread.group,
        walls.join(", ")
    )
}

fn list_issues(out: &mut String, title: &str, notes: &[IssueNote], trials: u32) {
    // In a run of several trials, an issue's line says which trial it was.
    let names: Vec<String> = notes
        .iter()
        .map(|note| {
            if trials > 1 {
                format!("{} (trial {})", note.issue_id, note.trial)
            } else {
                note.issue_id.clone()
            }
        })
        .collect();
    let lines: Vec<(&str, &str)> = notes
        .iter()
        .zip(&names)
        .map(|(note, name)| (name.as_str(), note.reason.as_str()))
        .collect();
    list_lines(out, title, &lines);
}

fn render_usage(out: &mut String, usage: &crate::figures::usage_summary::UsageSummary) {
    if let Some(cost) = &usage.cost_usd_per_issue {
        let _ = write!(
            out,
            "  cost        median {} · p95 {} · max {} per issue · total {}",
            dollars(cost.median),
            dollars(cost.p95),
            dollars(cost.max),
            dollars(usage.total_cost_usd.unwrap_or_default())
        );
        if usage.unpriced_calls > 0 {
            let _ = write!(
                out,
                " ({} calls to unpriced models not included)",
                usage.unpriced_calls
            );
        }
        out.push('\n');
    }
    if let Some(calls) = &usage.llm_calls_per_issue {
        let tokens = usage
            .tokens_per_issue
            .as_ref()
            .map(|tokens| tokens.median)
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  model       median {} calls · p95 {} · max {} per issue · median {} tokens",
            calls.median, calls.p95, calls.max, tokens
        );
    }
    if let Some(calls) = &usage.tool_calls_per_issue {
        let _ = writeln!(
            out,
            "  tools       median {} calls · p95 {} · max {} per issue",
            calls.median, calls.p95, calls.max
        );
    }
    if usage.budget_stops > 0 {
        let _ = writeln!(
            out,
            "  budgets     {} calls refused after a per-issue budget was spent",
            usage.budget_stops
        );
    }
    if usage.throttling.any() {
        let _ = writeln!(
            out,
            "  throttling  provider throttling: {}",
            throttling_sentence(&usage.throttling)
        );
    }
    for (name, sentence) in super::format::side_model_sentences(&usage.side_models) {
        let _ = writeln!(out, "  {name:<10}  {}", terminal_line(&sentence));
    }
}

fn list_outliers(out: &mut String, usage: &crate::figures::usage_summary::UsageSummary) {
    if !usage.outliers.is_empty() {
        let _ = writeln!(out, "outliers:");
        for outlier in usage.outliers.iter().take(LISTED_ISSUES) {
            let value = match outlier.measure.as_ref() {
                "cost_usd" => format!(
                    "cost {} (fence {})",
                    dollars(outlier.value),
                    dollars(outlier.fence)
                ),
                "seconds" => format!(
                    "time {} (fence {})",
                    format_seconds(outlier.value),
                    format_seconds(outlier.fence)
                ),
                _ => format!("{} tool calls (fence {:.1})", outlier.value, outlier.fence),
            };
            let _ = writeln!(out, "  {}  {value}", terminal_line(&outlier.issue_id));
        }
    }
}

fn list_boundary(
    out: &mut String,
    title: &str,
    notes: &[crate::figures::run_summary::BoundaryNote],
) {
    let lines: Vec<(&str, &str)> = notes
        .iter()
        .map(|note| (note.issue_id.as_str(), note.text.as_str()))
        .collect();
    list_lines(out, title, &lines);
}

/// `title:` and up to [`LISTED_ISSUES`] lines of `issue  text`, ids aligned, then how many more.
/// Both come from the issue or the agent: a reason can quote its output, so each is kept to one
/// inert line.
fn list_lines(out: &mut String, title: &str, lines: &[(&str, &str)]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    let shown: Vec<(String, String)> = lines
        .iter()
        .take(LISTED_ISSUES)
        .map(|(issue_id, text)| (terminal_line(issue_id), terminal_line(text)))
        .collect();
    let width = shown
        .iter()
        .map(|(issue_id, _)| issue_id.len())
        .max()
        .unwrap_or(0);
    for (issue_id, text) in &shown {
        let _ = writeln!(out, "  {issue_id:width$}  {text}");
    }
    if lines.len() > LISTED_ISSUES {
        let _ = writeln!(
            out,
            "  … and {} more (agentpod show RUN)",
            lines.len() - LISTED_ISSUES
        );
    }
}
