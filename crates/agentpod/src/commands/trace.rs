//! `agentpod trace RUN ISSUE`: one issue as a readable timeline — the agent's process, every
//! model call and tool call the gateways saw, the agent's own spans, what it changed or tried to
//! change in the database, and how it ended. `--json` gives the same as data. In a run of several
//! trials, `--trial N` picks the trial (the first by default). The timeline's text — model and
//! tool names, tool arguments, refused statements, the reason — comes from the agent, so each
//! line is shown through `terminal_line` and cannot act on the terminal; `--json` keeps it as is.

use agentpod_report::inert_text::terminal_line;
use agentpod_store::{BoundaryEventKind, BoundaryEventRecord, OutcomeRecord, StepKind, StepRecord};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::cli::{GlobalOptions, TraceArgs};
use crate::commands::runs::open_existing_store;
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn trace(global: &GlobalOptions, args: TraceArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let read_error =
        |error: agentpod_store::StoreError| Failure::from_error(Exit::InvalidInput, "", &error);
    let run = store.find_run(&args.run).await.map_err(read_error)?;
    let outcomes = store.outcomes(&run.id).await.map_err(read_error)?;
    let Some(outcome) = outcomes
        .iter()
        .find(|outcome| outcome.issue_id == args.issue && outcome.trial == args.trial)
    else {
        let trials: Vec<String> = outcomes
            .iter()
            .filter(|outcome| outcome.issue_id == args.issue)
            .map(|outcome| outcome.trial.to_string())
            .collect();
        if !trials.is_empty() {
            return Err(Failure::new(
                Exit::InvalidInput,
                format!(
                    "run {} has no outcome for trial {} of issue `{}` (its trials: {})",
                    run.id,
                    args.trial,
                    terminal_line(&args.issue),
                    trials.join(", ")
                ),
            ));
        }
        let mut known: Vec<&str> = outcomes
            .iter()
            .map(|outcome| outcome.issue_id.as_str())
            .collect();
        known.dedup();
        known.truncate(8);
        return Err(Failure::new(
            Exit::InvalidInput,
            format!(
                "run {} has no outcome for issue `{}` (some it has: {})",
                run.id,
                terminal_line(&args.issue),
                terminal_line(&known.join(", "))
            ),
        ));
    };
    let steps: Vec<StepRecord> = store
        .steps(&run.id, Some(&args.issue))
        .await
        .map_err(read_error)?
        .into_iter()
        .filter(|step| step.trial == args.trial)
        .collect();
    let events: Vec<BoundaryEventRecord> = store
        .boundary_events(&run.id)
        .await
        .map_err(read_error)?
        .into_iter()
        .filter(|event| event.issue_id == args.issue && event.trial == args.trial)
        .collect();
    let timeline = timeline(outcome, &steps, &events);
    if args.json {
        let document = json!({ "run_id": run.id, "issue_id": outcome.issue_id, "trial": outcome.trial, "outcome": outcome, "timeline": timeline });
        println!(
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
        return Ok(Exit::Success);
    }
    println!("{}", header_line(&run.id, run.trials, outcome));
    for entry in &timeline {
        println!("{}", entry_line(entry));
    }
    Ok(Exit::Success)
}

/// `RUN · issue T-7 · trial 2 of 3 · failed · reason`, the reason kept to one line.
fn header_line(run_id: &str, trials: u32, outcome: &OutcomeRecord) -> String {
    let trial = if trials > 1 {
        format!(" · trial {} of {trials}", outcome.trial)
    } else {
        String::new()
    };
    format!(
        "{} · issue {}{trial} · {} · {}",
        terminal_line(run_id),
        terminal_line(&outcome.issue_id),
        outcome.status.as_str(),
        terminal_line(&outcome.reason)
    )
}

/// One timeline entry as `offset  layer  text`.
fn entry_line(entry: &Value) -> String {
    let offset = entry["offset_ms"]
        .as_f64()
        .map(|ms| format!("{:>+9.3}s", ms / 1000.0))
        .unwrap_or_else(|| "         ".to_string());
    format!(
        "{offset}  {:<9} {}",
        entry["layer"].as_str().unwrap_or_default(),
        terminal_line(entry["text"].as_str().unwrap_or_default())
    )
}

/// The entries in time order. Each: `offset_ms` from the agent's start (when known), the log
/// layer it belongs to (execution, reasoning, performance), a line of text, and the raw detail.
fn timeline(
    outcome: &OutcomeRecord,
    steps: &[StepRecord],
    events: &[BoundaryEventRecord],
) -> Vec<Value> {
    let start = outcome.started_at;
    let offset = |at: Option<DateTime<Utc>>| -> Option<f64> {
        Some((at? - start).num_microseconds()? as f64 / 1000.0)
    };
    let mut entries = vec![json!({
        "offset_ms": 0.0, "layer": "execution", "text": format!("agent started in pod {}", outcome.pod_index), "detail": null,
    })];
    for step in steps {
        let detail = &step.detail;
        let text = |key: &str| {
            detail
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let number = |key: &str| detail.get(key).and_then(Value::as_f64);
        let latency = step
            .latency_ms
            .map(|ms| format!(" · {ms:.1} ms"))
            .unwrap_or_default();
        let (layer, line) = match step.kind {
            StepKind::LlmCall => {
                let cost = match number("cost_usd") {
                    Some(cost) => format!("${cost:.6}"),
                    None => "cost unknown".to_string(),
                };
                (
                    "reasoning",
                    format!(
                        "model {} ({}) · {} in / {} out tokens · {cost}{latency}{}",
                        text("model"),
                        text("api"),
                        number("input_tokens").unwrap_or_default(),
                        number("output_tokens").unwrap_or_default(),
                        detail
                            .get("error")
                            .and_then(Value::as_str)
                            .map(|error| format!(" · error: {error}"))
                            .unwrap_or_default()
                    ),
                )
            }
            StepKind::ToolCall => (
                "execution",
                format!(
                    "tool {}({}) → {}{latency}",
                    text("tool"),
                    clip(
                        &detail
                            .get("arguments")
                            .map(Value::to_string)
                            .unwrap_or_default(),
                        80
                    ),
                    text("outcome")
                ),
            ),
            StepKind::Span => (
                "reasoning",
                format!(
                    "span {}{}",
                    text("name"),
                    number("duration_ms")
                        .map(|ms| format!(" · {ms:.1} ms"))
                        .unwrap_or_default()
                ),
            ),
        };
        entries.push(json!({ "offset_ms": offset(step.started_at), "layer": layer, "text": line, "detail": detail }));
    }
    for event in events {
        let detail = &event.detail;
        let text = match event.kind {
            BoundaryEventKind::Change => format!(
                "database change: {} {}",
                detail
                    .get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                event.table.as_deref().unwrap_or("?")
            ),
            BoundaryEventKind::Proposal => format!(
                "proposal for approval: {} {} ({})",
                detail
                    .get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                event.table.as_deref().unwrap_or("?"),
                detail
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("pending")
            ),
            BoundaryEventKind::Violation => {
                format!(
                    "boundary violation: {}",
                    detail
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("refused")
                )
            }
        };
        entries.push(
            json!({ "offset_ms": null, "layer": "execution", "text": text, "detail": detail }),
        );
    }
    let end = json!({
        "offset_ms": outcome.duration_ms as f64,
        "layer": "execution",
        "text": format!("agent ended: {} → {}", exit_text(&outcome.exit), outcome.status.as_str()),
        "detail": outcome.exit,
    });
    // Timed entries in time order, then what has no time of its own (the database events, read
    // when the agent had ended), then the end and the totals.
    let (mut timeline, untimed): (Vec<Value>, Vec<Value>) = entries
        .into_iter()
        .partition(|entry| entry["offset_ms"].is_number());
    timeline.sort_by(|a, b| {
        let offset = |entry: &Value| entry["offset_ms"].as_f64().unwrap_or_default();
        offset(a).total_cmp(&offset(b))
    });
    timeline.extend(untimed);
    timeline.push(end);
    timeline.push(totals(outcome));
    timeline
}

/// The performance layer's line for the whole issue.
fn totals(outcome: &OutcomeRecord) -> Value {
    let usage = &outcome.usage;
    json!({
        "offset_ms": null,
        "layer": "performance",
        "text": format!(
            "{} model calls · {} tool calls · {} tokens · {} · {:.2}s",
            usage.llm_calls,
            usage.tool_calls,
            usage.input_tokens + usage.output_tokens,
            usage.cost_usd.map(|cost| format!("${cost:.6}")).unwrap_or_else(|| "no priced calls".to_string()),
            outcome.duration_ms as f64 / 1000.0
        ),
        "detail": usage,
    })
}

fn exit_text(exit: &Value) -> String {
    match exit.get("kind").and_then(Value::as_str) {
        Some("exited") => format!(
            "exited with code {}",
            exit.get("code").and_then(Value::as_i64).unwrap_or_default()
        ),
        Some("signaled") => format!(
            "killed by signal {}",
            exit.get("signal")
                .and_then(Value::as_i64)
                .unwrap_or_default()
        ),
        Some(kind) => kind.replace('_', " "),
        None => exit.to_string(),
    }
}

fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use agentpod_store::OutcomeStatus;
    use chrono::{TimeZone, Utc};

    use super::*;

    /// Escape sequences that clear the screen and plant a hyperlink, a carriage return, a bidi
    /// override and a second line, as a hostile agent's output could put them anywhere it writes.
    const HOSTILE: &str = "\u{1b}[2J\u{1b}]8;;http://evil/\u{7}click\u{1b}]8;;\u{7} failed\rpassed \
                           \u{202e}deliaf\u{202c}\n### Approved";

    fn outcome() -> OutcomeRecord {
        OutcomeRecord {
            run_id: "20261125-120000-abcd".into(),
            issue_id: "T-7".into(),
            trial: 1,
            pod_index: 1,
            status: OutcomeStatus::Failed,
            reason: HOSTILE.into(),
            exit: json!({ "kind": "exited", "code": 0 }),
            started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap(),
            duration_ms: 4200,
            output: None,
            grade: json!(null),
            stdout: String::new(),
            stdout_bytes: 0,
            stdout_truncated: false,
            stderr: String::new(),
            stderr_bytes: 0,
            stderr_truncated: false,
            usage: Default::default(),
        }
    }

    fn acts_on_terminal(text: &str) -> bool {
        text.chars().any(|character| {
            character.is_control()
                || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
    }

    #[test]
    fn the_header_shows_the_reason_on_one_inert_line() {
        let line = header_line("20261125-120000-abcd", 1, &outcome());
        assert!(!acts_on_terminal(&line), "{line:?}");
        assert_eq!(
            line,
            "20261125-120000-abcd · issue T-7 · failed · \\x1b[2J\\x1b]8;;http://evil/\\x07click\
             \\x1b]8;;\\x07 failed\\rpassed \\u{202e}deliaf\\u{202c}\\n### Approved"
        );
    }

    #[test]
    fn timeline_lines_show_the_agents_text_inertly() {
        let steps = [
            StepRecord {
                issue_id: "T-7".into(),
                trial: 1,
                kind: StepKind::ToolCall,
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 2).unwrap()),
                latency_ms: Some(12.5),
                detail: json!({ "tool": HOSTILE, "arguments": { "sql": HOSTILE }, "outcome": "ok" }),
            },
            StepRecord {
                issue_id: "T-7".into(),
                trial: 1,
                kind: StepKind::LlmCall,
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 3).unwrap()),
                latency_ms: Some(850.0),
                detail: json!({ "model": HOSTILE, "api": "openai", "error": HOSTILE }),
            },
            StepRecord {
                issue_id: "T-7".into(),
                trial: 1,
                kind: StepKind::Span,
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 4).unwrap()),
                latency_ms: None,
                detail: json!({ "name": HOSTILE }),
            },
        ];
        let events = [BoundaryEventRecord {
            issue_id: "T-7".into(),
            trial: 1,
            kind: BoundaryEventKind::Violation,
            table: Some("roles".into()),
            detail: json!({ "error": HOSTILE }),
        }];
        let entries = timeline(&outcome(), &steps, &events);
        // Start, three steps, the violation, the end and the totals.
        assert_eq!(entries.len(), 7);
        for entry in &entries {
            let line = entry_line(entry);
            assert!(!acts_on_terminal(&line), "{line:?}");
        }
        let violation = entry_line(&entries[4]);
        assert!(
            violation.ends_with(
                "boundary violation: \\x1b[2J\\x1b]8;;http://evil/\\x07click\\x1b]8;;\\x07 \
                 failed\\rpassed \\u{202e}deliaf\\u{202c}\\n### Approved"
            ),
            "{violation}"
        );
    }
}
