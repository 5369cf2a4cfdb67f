//! `agentpod trace RUN ISSUE`: one issue as a readable timeline — the agent's process, every
//! model call and tool call the gateways saw, the agent's own spans, what it changed or tried to
//! change in the database, and how it ended. `--json` gives the same as data. In a run of several
//! trials, `--trial N` picks the trial (the first by default).

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
                    args.issue,
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
                args.issue,
                known.join(", ")
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
    let trial = if run.trials > 1 {
        format!(" · trial {} of {}", outcome.trial, run.trials)
    } else {
        String::new()
    };
    println!(
        "{} · issue {}{trial} · {} · {}",
        run.id,
        outcome.issue_id,
        outcome.status.as_str(),
        outcome.reason
    );
    for entry in &timeline {
        let offset = entry["offset_ms"]
            .as_f64()
            .map(|ms| format!("{:>+9.3}s", ms / 1000.0))
            .unwrap_or_else(|| "         ".to_string());
        println!(
            "{offset}  {:<9} {}",
            entry["layer"].as_str().unwrap_or_default(),
            entry["text"].as_str().unwrap_or_default()
        );
    }
    Ok(Exit::Success)
}

/// The entries in time order. Each: `offset_ms` from the agent's start (when known), the log
/// layer it belongs to (execution, reasoning, performance), a line of text, and the raw detail.
fn timeline(
    outcome: &OutcomeRecord,
    steps: &[StepRecord],
    events: &[BoundaryEventRecord],
) -> Vec<Value> {
    let start = outcome.started_at;
    let offset = |at: Option<&str>| -> Option<f64> {
        let at = DateTime::parse_from_rfc3339(at?).ok()?.with_timezone(&Utc);
        Some((at - start).num_microseconds()? as f64 / 1000.0)
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
        entries.push(json!({ "offset_ms": offset(step.started_at.as_deref()), "layer": layer, "text": line, "detail": detail }));
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
