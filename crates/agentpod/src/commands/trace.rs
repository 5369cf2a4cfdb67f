//! `agentpod trace RUN ISSUE`: one issue as a readable timeline — the agent's process, every
//! model call and tool call the gateways saw, the agent's own spans, what it changed or tried to
//! change in the database, and how it ended; `agentpod_trace::issue_timeline` builds it from the
//! run store's records. `--json` gives the same as data. In a run of several trials, `--trial N`
//! picks the trial (the first by default). The timeline's text — model and tool names, tool
//! arguments, refused statements, the reason — comes from the agent, so each line is shown
//! through `terminal_line` and cannot act on the terminal; `--json` keeps it as is.

use agentpod_report::inert_text::terminal_line;
use agentpod_store::{BoundaryEventRecord, OutcomeRecord, StepRecord};
use agentpod_trace::{TimelineEntry, issue_timeline};
use serde_json::json;

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
    let timeline = issue_timeline(outcome, &steps, &events);
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
fn entry_line(entry: &TimelineEntry) -> String {
    let offset = entry
        .offset_ms
        .map(|ms| format!("{:>+9.3}s", ms / 1000.0))
        .unwrap_or_else(|| "         ".to_string());
    format!(
        "{offset}  {:<9} {}",
        entry.layer.as_str(),
        terminal_line(&entry.text)
    )
}

#[cfg(test)]
mod tests {
    use agentpod_store::{
        BoundaryDetail, ModelCallDetail, OutcomeStatus, RejectedRequestDetail, Span, StepDetail,
        ToolCallDetail, ViolationDetail,
    };
    use chrono::{TimeZone, Utc};

    use super::*;

    /// Escape sequences that clear the screen and plant a hyperlink, a carriage return, a bidi
    /// override and a second line, as a hostile agent's output could put them anywhere it writes.
    const HOSTILE: &str = "\u{1b}[2J\u{1b}]8;;http://evil/\u{7}click\u{1b}]8;;\u{7} failed\rpassed \
                           \u{202e}deliaf\u{202c}\n### Approved";

    fn outcome() -> OutcomeRecord {
        OutcomeRecord {
            own_time: Default::default(),
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
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 2).unwrap()),
                latency_ms: Some(12.5),
                detail: StepDetail::ToolCall(ToolCallDetail {
                    tool: HOSTILE.into(),
                    arguments: json!({ "sql": HOSTILE }),
                    ..Default::default()
                }),
            },
            StepRecord {
                issue_id: "T-7".into(),
                trial: 1,
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 3).unwrap()),
                latency_ms: Some(850.0),
                detail: StepDetail::LlmCall(ModelCallDetail {
                    model: Some(HOSTILE.into()),
                    api: "openai".into(),
                    error: Some(HOSTILE.into()),
                    ..Default::default()
                }),
            },
            StepRecord {
                issue_id: "T-7".into(),
                trial: 1,
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 4).unwrap()),
                latency_ms: None,
                detail: StepDetail::Span(Span {
                    name: HOSTILE.into(),
                    ..Default::default()
                }),
            },
            StepRecord {
                issue_id: "T-7".into(),
                trial: 1,
                started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 5).unwrap()),
                latency_ms: Some(0.3),
                detail: StepDetail::RejectedRequest(RejectedRequestDetail {
                    gateway: HOSTILE.into(),
                    status: 400,
                    error: HOSTILE.into(),
                    body: HOSTILE.into(),
                    ..Default::default()
                }),
            },
        ];
        let events = [BoundaryEventRecord {
            issue_id: "T-7".into(),
            trial: 1,
            detail: BoundaryDetail::Violation(ViolationDetail {
                error: HOSTILE.into(),
                table: Some(HOSTILE.into()),
                statement: Some(HOSTILE.into()),
                ..Default::default()
            }),
        }];
        let entries = issue_timeline(&outcome(), &steps, &events);
        // Start, four steps, the violation, the end and the totals.
        assert_eq!(entries.len(), 8);
        for entry in &entries {
            let line = entry_line(entry);
            assert!(!acts_on_terminal(&line), "{line:?}");
        }
        let refused = entry_line(&entries[4]);
        assert!(
            refused.contains("request refused by the \\x1b[2J"),
            "{refused}"
        );
        let violation = entry_line(&entries[5]);
        assert!(
            violation.ends_with(
                "boundary violation: \\x1b[2J\\x1b]8;;http://evil/\\x07click\\x1b]8;;\\x07 \
                 failed\\rpassed \\u{202e}deliaf\\u{202c}\\n### Approved"
            ),
            "{violation}"
        );
    }
}
