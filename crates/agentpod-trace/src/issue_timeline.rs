//! One issue's trial as a timeline, from the run store's records: the agent's start, every model
//! call and tool call the gateways saw, the agent's own spans, what it changed or tried to change
//! in the database, how it ended, and its totals. `agentpod trace` shows it; the text of each
//! entry comes partly from the agent, and showing it safely is the reader's job.

use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, CUSTOMER_TOOL, ModelCallDetail, OutcomeRecord, StepDetail,
    StepRecord,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Milliseconds from the agent's start, when the entry has a time of its own.
    pub offset_ms: Option<f64>,
    pub layer: TimelineLayer,
    /// One line saying what happened.
    pub text: String,
    /// What the entry was made from, as stored: the step's detail, the boundary event's, the
    /// agent's exit, the issue's usage; `null` for the start.
    pub detail: Value,
}

/// The log layer an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineLayer {
    /// What the agent did: its process, its tool calls, its database changes.
    Execution,
    /// How it thought: model calls and its own spans.
    Reasoning,
    /// What it cost: the totals.
    Performance,
}

impl TimelineLayer {
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineLayer::Execution => "execution",
            TimelineLayer::Reasoning => "reasoning",
            TimelineLayer::Performance => "performance",
        }
    }
}

/// The entries of one issue's trial: the start, then the steps in time order, then what has no
/// time of its own (the database events, read when the agent had ended), then the end and the
/// totals. `steps` and `events` are the trial's own.
pub fn issue_timeline(
    outcome: &OutcomeRecord,
    steps: &[StepRecord],
    events: &[BoundaryEventRecord],
) -> Vec<TimelineEntry> {
    let start = outcome.started_at;
    let offset = |at: Option<DateTime<Utc>>| -> Option<f64> {
        Some((at? - start).num_microseconds()? as f64 / 1000.0)
    };
    let mut timed = vec![TimelineEntry {
        offset_ms: Some(0.0),
        layer: TimelineLayer::Execution,
        text: format!("agent started in pod {}", outcome.pod_index),
        detail: Value::Null,
    }];
    for step in steps {
        let (layer, text) = step_line(step);
        timed.push(TimelineEntry {
            offset_ms: offset(step.started_at),
            layer,
            text,
            detail: step.detail.to_json(),
        });
    }
    let (mut timeline, mut untimed): (Vec<TimelineEntry>, Vec<TimelineEntry>) = timed
        .into_iter()
        .partition(|entry| entry.offset_ms.is_some());
    timeline.sort_by(|a, b| {
        a.offset_ms
            .unwrap_or_default()
            .total_cmp(&b.offset_ms.unwrap_or_default())
    });
    untimed.extend(events.iter().map(|event| TimelineEntry {
        offset_ms: None,
        layer: TimelineLayer::Execution,
        text: event_line(event),
        detail: event.detail.to_json(),
    }));
    timeline.extend(untimed);
    timeline.push(TimelineEntry {
        offset_ms: Some(outcome.duration_ms as f64),
        layer: TimelineLayer::Execution,
        text: format!(
            "agent ended: {} → {}",
            exit_text(&outcome.exit),
            outcome.status.as_str()
        ),
        detail: outcome.exit.clone(),
    });
    timeline.extend(judgements(outcome));
    timeline.push(totals(outcome));
    timeline
}

/// A call of a model agentpod asked (the judge, a simulated customer): `judge model M · 120 in
/// / 12 out tokens · $0.000100 (grading, not the agent's)`.
fn side_model_line(who: &str, whose: &str, call: &ModelCallDetail, latency: &str) -> String {
    format!(
        "{who} model {} · {} in / {} out tokens · {} ({whose}, not the agent's){latency}",
        call.model.as_deref().unwrap_or("?"),
        call.usage.input_tokens,
        call.usage.output_tokens,
        call.cost_usd
            .map_or("cost unknown".to_string(), |cost| format!("${cost:.6}"))
    )
}

fn step_line(step: &StepRecord) -> (TimelineLayer, String) {
    let latency = step
        .latency_ms
        .map(|ms| format!(" · {ms:.1} ms"))
        .unwrap_or_default();
    match &step.detail {
        StepDetail::ToolCall(call) if call.tool == CUSTOMER_TOOL && !call.is_error => (
            TimelineLayer::Reasoning,
            format!(
                "conversation: agent → customer: {} · customer → agent: {}{latency}",
                clip(
                    call.arguments
                        .get("message")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("?"),
                    200
                ),
                clip(&call.result, 200)
            ),
        ),
        StepDetail::JudgeCall(call) => (
            TimelineLayer::Execution,
            side_model_line("judge", "grading", call, &latency),
        ),
        StepDetail::CustomerCall(call) => (
            TimelineLayer::Reasoning,
            side_model_line("customer", "the simulated customer's", call, &latency),
        ),
        StepDetail::LlmCall(call) => {
            let cost = match call.cost_usd {
                Some(cost) => format!("${cost:.6}"),
                None => "cost unknown".to_string(),
            };
            // The provider's part of the latency: waiting for the run's limits, and retries.
            let throttled = if call.retries > 0 || call.throttled_ms() > 0.0 {
                format!(
                    " · throttled {:.1} ms, {} retr{}",
                    call.throttled_ms(),
                    call.retries,
                    if call.retries == 1 { "y" } else { "ies" }
                )
            } else {
                String::new()
            };
            (
                TimelineLayer::Reasoning,
                format!(
                    "model {} ({}) · {} in / {} out tokens · {cost}{latency}{throttled}{}",
                    call.model.as_deref().unwrap_or("?"),
                    or_unknown(&call.api),
                    call.usage.input_tokens,
                    call.usage.output_tokens,
                    call.error
                        .as_deref()
                        .map(|error| format!(" · error: {error}"))
                        .unwrap_or_default()
                ),
            )
        }
        StepDetail::ToolCall(call) => (
            TimelineLayer::Execution,
            format!(
                "tool {}({}) → {}{latency}",
                or_unknown(&call.tool),
                clip(&call.arguments.to_string(), 80),
                call.outcome.as_str()
            ),
        ),
        StepDetail::Span(span) => (
            TimelineLayer::Reasoning,
            format!(
                "span {} · {:.1} ms",
                or_unknown(&span.name),
                span.duration_ms
            ),
        ),
        StepDetail::RejectedRequest(request) => (
            TimelineLayer::Execution,
            format!(
                "request refused by the {} gateway: {} {}{}",
                or_unknown(&request.gateway),
                request.status,
                clip(&request.error, 120),
                match request.not_listed_after {
                    0 => String::new(),
                    more => format!(" (and {more} more, not listed)"),
                }
            ),
        ),
    }
}

fn event_line(event: &BoundaryEventRecord) -> String {
    let table = event.table().unwrap_or("?");
    match &event.detail {
        BoundaryDetail::Change(change) => {
            format!("database change: {} {table}", or_unknown(&change.operation))
        }
        BoundaryDetail::Proposal(proposal) => format!(
            "proposal for approval: {} {table} ({})",
            or_unknown(&proposal.operation),
            proposal.status
        ),
        BoundaryDetail::Violation(violation) => format!(
            "boundary violation: {}",
            if violation.error.is_empty() {
                "refused"
            } else {
                &violation.error
            }
        ),
    }
}

/// The judge's verdicts on the trial, one line each with its reasoning, from the grade.
fn judgements(outcome: &OutcomeRecord) -> Vec<TimelineEntry> {
    let Some(judgements) = outcome.grade["judge"]["judgements"].as_array() else {
        return Vec::new();
    };
    let count = judgements.len();
    judgements
        .iter()
        .enumerate()
        .map(|(index, judgement)| TimelineEntry {
            offset_ms: None,
            layer: TimelineLayer::Execution,
            text: format!(
                "judgement {} of {count}: {} · {}",
                index + 1,
                match judgement["passed"].as_bool() {
                    Some(true) => "pass",
                    Some(false) => "fail",
                    None => "no verdict",
                },
                clip(judgement["reasoning"].as_str().unwrap_or(""), 200)
            ),
            detail: judgement.clone(),
        })
        .collect()
}

/// The performance layer's line for the whole issue.
fn totals(outcome: &OutcomeRecord) -> TimelineEntry {
    let usage = &outcome.usage;
    TimelineEntry {
        offset_ms: None,
        layer: TimelineLayer::Performance,
        text: format!(
            "{} model calls · {} tool calls · {} tokens · {} · {:.2}s",
            usage.llm_calls,
            usage.tool_calls,
            usage.input_tokens + usage.output_tokens,
            usage
                .cost_usd
                .map(|cost| format!("${cost:.6}"))
                .unwrap_or_else(|| "no priced calls".to_string()),
            outcome.duration_ms as f64 / 1000.0
        ),
        detail: serde_json::to_value(usage).unwrap_or_default(),
    }
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

/// A name the gateway did not record reads as `?`.
fn or_unknown(text: &str) -> &str {
    if text.is_empty() { "?" } else { text }
}

fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use agentpod_store::{
        IssueUsage, ModelCallDetail, OutcomeStatus, ProposalDetail, RejectedRequestDetail,
        RowChangeDetail, Span, TokenCounts, ToolCallDetail, ToolCallOutcome,
    };
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, second).unwrap()
    }

    fn outcome() -> OutcomeRecord {
        OutcomeRecord {
            own_time: Default::default(),
            run_id: "run".into(),
            issue_id: "T-1".into(),
            trial: 1,
            pod_index: 2,
            status: OutcomeStatus::Passed,
            reason: "all checks passed".into(),
            exit: json!({ "kind": "exited", "code": 0 }),
            started_at: at(0),
            duration_ms: 4200,
            output: None,
            grade: Value::Null,
            stdout: String::new(),
            stdout_bytes: 0,
            stdout_truncated: false,
            stderr: String::new(),
            stderr_bytes: 0,
            stderr_truncated: false,
            usage: IssueUsage {
                llm_calls: 1,
                tool_calls: 1,
                input_tokens: 900,
                output_tokens: 120,
                cost_usd: Some(0.004),
                ..IssueUsage::default()
            },
        }
    }

    fn step(started_at: Option<DateTime<Utc>>, latency_ms: f64, detail: StepDetail) -> StepRecord {
        StepRecord {
            issue_id: "T-1".into(),
            trial: 1,
            started_at,
            latency_ms: Some(latency_ms),
            detail,
        }
    }

    #[test]
    fn steps_come_in_time_order_then_the_untimed_then_the_end_and_the_totals() {
        let steps = [
            step(
                Some(at(2)),
                12.5,
                StepDetail::ToolCall(ToolCallDetail {
                    tool: "query".into(),
                    arguments: json!({ "sql": "SELECT 1" }),
                    outcome: ToolCallOutcome::Error,
                    error: Some("permission denied".into()),
                    ..ToolCallDetail::default()
                }),
            ),
            step(
                Some(at(1)),
                850.0,
                StepDetail::LlmCall(ModelCallDetail {
                    api: "openai.chat".into(),
                    model: Some("gpt-4o-mini".into()),
                    usage: TokenCounts {
                        input_tokens: 900,
                        output_tokens: 120,
                        ..TokenCounts::default()
                    },
                    cost_usd: Some(0.004),
                    ..ModelCallDetail::default()
                }),
            ),
            step(
                None,
                3.5,
                StepDetail::Span(Span {
                    name: "plan".into(),
                    duration_ms: 3.5,
                    ..Span::default()
                }),
            ),
        ];
        let events = [BoundaryEventRecord {
            issue_id: "T-1".into(),
            trial: 1,
            detail: BoundaryDetail::Change(RowChangeDetail {
                table: "tickets".into(),
                operation: "UPDATE".into(),
                after: Some(json!({ "id": 7 })),
                ..RowChangeDetail::default()
            }),
        }];
        let timeline = issue_timeline(&outcome(), &steps, &events);
        let lines: Vec<(Option<f64>, &str, &str)> = timeline
            .iter()
            .map(|entry| (entry.offset_ms, entry.layer.as_str(), entry.text.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (Some(0.0), "execution", "agent started in pod 2"),
                (
                    Some(1000.0),
                    "reasoning",
                    "model gpt-4o-mini (openai.chat) · 900 in / 120 out tokens · $0.004000 · 850.0 ms"
                ),
                (
                    Some(2000.0),
                    "execution",
                    "tool query({\"sql\":\"SELECT 1\"}) → error · 12.5 ms"
                ),
                (None, "reasoning", "span plan · 3.5 ms"),
                (None, "execution", "database change: UPDATE tickets"),
                (
                    Some(4200.0),
                    "execution",
                    "agent ended: exited with code 0 → passed"
                ),
                (
                    None,
                    "performance",
                    "1 model calls · 1 tool calls · 1020 tokens · $0.004000 · 4.20s"
                ),
            ]
        );
        // Each entry carries what it was made from, as stored: a step's detail in its gateway's
        // shape, without its kind.
        assert_eq!(timeline[2].detail["tool"], "query");
        assert_eq!(timeline[2].detail["error"], "permission denied");
        assert!(timeline[2].detail.get("kind").is_none());
        assert_eq!(timeline[4].detail["operation"], "UPDATE");
        assert_eq!(timeline[4].detail["after"], json!({ "id": 7 }));
        assert!(timeline[4].detail.get("kind").is_none());
        assert_eq!(timeline[5].detail, json!({ "kind": "exited", "code": 0 }));
        assert_eq!(timeline[6].detail["input_tokens"], 900);
    }

    #[test]
    fn what_a_gateway_did_not_record_reads_as_unknown() {
        let steps = [
            step(
                Some(at(1)),
                1.0,
                StepDetail::LlmCall(ModelCallDetail::default()),
            ),
            step(
                Some(at(2)),
                1.0,
                StepDetail::ToolCall(ToolCallDetail::default()),
            ),
            step(
                Some(at(3)),
                0.2,
                StepDetail::RejectedRequest(RejectedRequestDetail {
                    gateway: "tools".into(),
                    status: 400,
                    error: "parse error: expected value".into(),
                    not_listed_after: 3,
                    ..RejectedRequestDetail::default()
                }),
            ),
        ];
        let mut ended = outcome();
        ended.exit = json!({ "kind": "timed_out" });
        ended.usage = IssueUsage::default();
        let events = [BoundaryEventRecord {
            issue_id: "T-1".into(),
            trial: 1,
            detail: BoundaryDetail::Proposal(ProposalDetail::default()),
        }];
        let texts: Vec<String> = issue_timeline(&ended, &steps, &events)
            .into_iter()
            .map(|entry| entry.text)
            .collect();
        assert_eq!(
            texts[1],
            "model ? (?) · 0 in / 0 out tokens · cost unknown · 1.0 ms"
        );
        assert_eq!(texts[2], "tool ?(null) → ok · 1.0 ms");
        assert_eq!(
            texts[3],
            "request refused by the tools gateway: 400 parse error: expected value \
             (and 3 more, not listed)"
        );
        assert_eq!(texts[4], "proposal for approval: ? ? (pending)");
        assert_eq!(texts[5], "agent ended: timed out → passed");
        assert!(
            texts[6].ends_with("no priced calls · 4.20s"),
            "{}",
            texts[6]
        );
    }
}
