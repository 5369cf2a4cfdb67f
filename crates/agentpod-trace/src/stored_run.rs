//! A run as the run store keeps it, mapped onto [`RunTrace`] for the OTLP export: each trial of
//! each issue becomes an [`IssueTrace`] with its model calls, tool calls and the agent's spans.

use agentpod_store::{
    ModelCallDetail, OutcomeRecord, OutcomeStatus, RunRecord, StepDetail, StepRecord,
    ToolCallDetail,
};

use crate::run_trace::{IssueTrace, LlmCallTrace, RunTrace, ToolCallTrace};

/// The run's trace: one issue trace per outcome, in the outcomes' order, each with the steps of
/// its issue and trial (the others in `steps` are left out).
pub fn stored_run_trace(
    run: &RunRecord,
    outcomes: &[OutcomeRecord],
    steps: &[StepRecord],
) -> RunTrace {
    RunTrace {
        run_id: run.id.clone(),
        spec: run.spec_name.clone(),
        agent_version: run.agent_version.clone(),
        issues: outcomes
            .iter()
            .map(|outcome| issue_trace(outcome, steps))
            .collect(),
    }
}

fn issue_trace(outcome: &OutcomeRecord, steps: &[StepRecord]) -> IssueTrace {
    let mut trace = IssueTrace {
        issue_id: outcome.issue_id.clone(),
        trial: outcome.trial,
        started_at: outcome.started_at,
        ended_at: outcome.started_at + chrono::Duration::milliseconds(outcome.duration_ms as i64),
        outcome: outcome.status.as_str().to_string(),
        error: matches!(
            outcome.status,
            OutcomeStatus::Errored | OutcomeStatus::InfrastructureError
        )
        .then(|| outcome.reason.clone()),
        llm_calls: Vec::new(),
        tool_calls: Vec::new(),
        agent_spans: Vec::new(),
    };
    let mine = steps
        .iter()
        .filter(|step| step.issue_id == outcome.issue_id && step.trial == outcome.trial);
    for step in mine {
        match &step.detail {
            StepDetail::LlmCall(call) => trace.llm_calls.push(llm_call_trace(step, call)),
            StepDetail::ToolCall(call) => trace.tool_calls.push(tool_call_trace(step, call)),
            StepDetail::Span(span) => trace.agent_spans.push(span.clone()),
            // Never a call: the GenAI conventions have no name for it; `trace` shows it.
            StepDetail::RejectedRequest(_) => {}
            // Not the agent's calls: the judge grades the trial and the customer model plays
            // the customer; an export of the agent's session leaves them out, `trace` shows them.
            StepDetail::JudgeCall(_) | StepDetail::CustomerCall(_) => {}
        }
    }
    trace
}

/// A model call with the GenAI conventions' names: the provider and wire API split from the
/// stored `provider.wire`, the stand-in named as such.
fn llm_call_trace(step: &StepRecord, call: &ModelCallDetail) -> LlmCallTrace {
    let (provider, wire) = match call.api.split_once('.') {
        Some((provider, wire)) => (provider.to_string(), wire.to_string()),
        None => (call.api.clone(), call.api.clone()),
    };
    let model = call.model.clone().unwrap_or_default();
    LlmCallTrace {
        started_at: step.started_at.unwrap_or_default(),
        latency_ms: step.latency_ms.unwrap_or_default(),
        provider: if model == "agentpod-stand-in" {
            "agentpod.stand_in".to_string()
        } else {
            provider
        },
        api: if wire == "chat" {
            "chat.completions".to_string()
        } else {
            wire
        },
        model,
        response_model: call.response_model.clone(),
        response_id: None,
        finish_reasons: Vec::new(),
        input_tokens: call.usage.input_tokens,
        output_tokens: call.usage.output_tokens,
        cached_input_tokens: call.usage.cached_input_tokens,
        reasoning_tokens: call.usage.reasoning_tokens,
        cost_usd: call.cost_usd,
        streamed: call.streamed,
        request: Some(call.request.text.clone()),
        response: Some(call.response.text.clone()),
        outcome: call.outcome.as_str().to_string(),
        error: call.error.clone(),
    }
}

fn tool_call_trace(step: &StepRecord, call: &ToolCallDetail) -> ToolCallTrace {
    ToolCallTrace {
        started_at: step.started_at.unwrap_or_default(),
        latency_ms: step.latency_ms.unwrap_or_default(),
        server: call
            .tool
            .split_once('.')
            .map(|(server, _)| server.to_string()),
        tool: call.tool.clone(),
        call_id: Some(call.sequence.to_string()),
        arguments: call.arguments.to_string(),
        result: Some(call.result.clone()),
        outcome: call.outcome.as_str().to_string(),
        error: call.error.clone(),
        boundary_decision: None,
    }
}

#[cfg(test)]
mod tests {
    use agentpod_store::{
        ModelCallOutcome, RecordedText, RunStatus, Span, TokenCounts, ToolCallOutcome,
    };
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::run_trace_encoder::encode_issue;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, second).unwrap()
    }

    fn run() -> RunRecord {
        RunRecord {
            id: "20261125-120000-abcd".into(),
            spec_name: "support".into(),
            spec_path: "pods/support.yaml".into(),
            agent_version: "v2".into(),
            runtime: "docker".into(),
            pods: 1,
            seed: 7,
            issue_count: 2,
            trials: 2,
            status: RunStatus::Finished,
            started_at: at(0),
            finished_at: Some(at(30)),
            summary: None,
            unprotected: false,
            evaluation_set: None,
            sharding: None,
        }
    }

    fn outcome(issue_id: &str, trial: u32, status: OutcomeStatus) -> OutcomeRecord {
        OutcomeRecord {
            own_time: Default::default(),
            run_id: run().id,
            issue_id: issue_id.into(),
            trial,
            pod_index: 0,
            status,
            reason: format!("{issue_id} trial {trial}"),
            exit: json!({ "kind": "exited", "code": 0 }),
            started_at: at(trial),
            duration_ms: 2500,
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

    fn step(issue_id: &str, trial: u32, detail: StepDetail) -> StepRecord {
        StepRecord {
            issue_id: issue_id.into(),
            trial,
            started_at: Some(at(trial)),
            latency_ms: Some(40.0),
            detail,
        }
    }

    fn agent_span() -> Span {
        Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            name: "triage".into(),
            start: "2026-11-25T12:00:01.100000000Z".into(),
            end: "2026-11-25T12:00:01.200000000Z".into(),
            duration_ms: 100.0,
            ..Span::default()
        }
    }

    fn steps() -> Vec<StepRecord> {
        vec![
            step(
                "a",
                1,
                StepDetail::LlmCall(ModelCallDetail {
                    api: "openai.chat".into(),
                    model: Some("gpt-4o-mini".into()),
                    response_model: Some("gpt-4o-mini-2024-07-18".into()),
                    streamed: true,
                    status: 200,
                    usage: TokenCounts {
                        input_tokens: 900,
                        output_tokens: 120,
                        cached_input_tokens: 100,
                        reasoning_tokens: 7,
                        ..TokenCounts::default()
                    },
                    cost_usd: Some(0.004),
                    request: RecordedText {
                        text: "{\"model\":\"gpt-4o-mini\"}".into(),
                        ..RecordedText::default()
                    },
                    ..ModelCallDetail::default()
                }),
            ),
            step(
                "a",
                1,
                StepDetail::ToolCall(ToolCallDetail {
                    sequence: 3,
                    tool: "crm.lookup".into(),
                    arguments: json!({ "id": 7 }),
                    result: "found".into(),
                    ..ToolCallDetail::default()
                }),
            ),
            step("a", 1, StepDetail::Span(agent_span())),
            step(
                "a",
                2,
                StepDetail::LlmCall(ModelCallDetail {
                    api: "anthropic.messages".into(),
                    model: Some("agentpod-stand-in".into()),
                    outcome: ModelCallOutcome::BudgetStop,
                    error: Some("max_calls spent".into()),
                    ..ModelCallDetail::default()
                }),
            ),
            step(
                "b",
                1,
                StepDetail::ToolCall(ToolCallDetail {
                    tool: "query".into(),
                    outcome: ToolCallOutcome::Limit,
                    ..ToolCallDetail::default()
                }),
            ),
        ]
    }

    #[test]
    fn each_trial_gets_its_own_steps_with_the_genai_names() {
        let outcomes = [
            outcome("a", 1, OutcomeStatus::Passed),
            outcome("a", 2, OutcomeStatus::Errored),
        ];
        let trace = stored_run_trace(&run(), &outcomes, &steps());
        assert_eq!(
            (
                trace.run_id.as_str(),
                trace.spec.as_str(),
                trace.agent_version.as_str()
            ),
            ("20261125-120000-abcd", "support", "v2")
        );
        assert_eq!(trace.issues.len(), 2, "one per outcome; issue b has none");

        let first = &trace.issues[0];
        assert_eq!((first.issue_id.as_str(), first.trial), ("a", 1));
        assert_eq!(first.ended_at, at(1) + chrono::Duration::milliseconds(2500));
        assert_eq!(first.outcome, "passed");
        assert_eq!(first.error, None);
        assert_eq!(first.llm_calls.len(), 1);
        let chat = &first.llm_calls[0];
        assert_eq!(
            (chat.provider.as_str(), chat.api.as_str()),
            ("openai", "chat.completions")
        );
        assert_eq!(chat.model, "gpt-4o-mini");
        assert_eq!(
            chat.response_model.as_deref(),
            Some("gpt-4o-mini-2024-07-18")
        );
        assert_eq!(
            (
                chat.input_tokens,
                chat.output_tokens,
                chat.cached_input_tokens,
                chat.reasoning_tokens
            ),
            (900, 120, 100, 7)
        );
        assert_eq!(chat.cost_usd, Some(0.004));
        assert!(chat.streamed);
        assert_eq!(chat.request.as_deref(), Some("{\"model\":\"gpt-4o-mini\"}"));
        assert_eq!(chat.outcome, "ok");
        assert_eq!((chat.started_at, chat.latency_ms), (at(1), 40.0));
        let tool = &first.tool_calls[0];
        assert_eq!(tool.tool, "crm.lookup");
        assert_eq!(tool.server.as_deref(), Some("crm"));
        assert_eq!(tool.call_id.as_deref(), Some("3"));
        assert_eq!(tool.arguments, "{\"id\":7}");
        assert_eq!(tool.result.as_deref(), Some("found"));
        assert_eq!(tool.outcome, "ok");
        assert_eq!(first.agent_spans, [agent_span()]);

        let second = &trace.issues[1];
        assert_eq!((second.trial, second.outcome.as_str()), (2, "errored"));
        assert_eq!(
            second.error.as_deref(),
            Some("a trial 2"),
            "the reason of an error"
        );
        assert!(second.tool_calls.is_empty() && second.agent_spans.is_empty());
        let stopped = &second.llm_calls[0];
        assert_eq!(
            (stopped.provider.as_str(), stopped.api.as_str()),
            ("agentpod.stand_in", "messages")
        );
        assert_eq!(stopped.outcome, "budget_stop");
        assert_eq!(stopped.error.as_deref(), Some("max_calls spent"));
    }

    #[test]
    fn a_mapped_trial_encodes_as_one_span_per_step_under_its_root() {
        let trace = stored_run_trace(&run(), &[outcome("a", 1, OutcomeStatus::Passed)], &steps());
        let encoded = encode_issue(&trace, &trace.issues[0]).unwrap();
        assert_eq!(
            encoded.spans, 4,
            "the root, a chat, a tool call and the agent's span"
        );
        let names: Vec<&str> = encoded
            .request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| &scope.spans)
            .map(|span| span.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "invoke_agent support",
                "chat gpt-4o-mini",
                "execute_tool crm.lookup",
                "triage"
            ]
        );
    }
}
