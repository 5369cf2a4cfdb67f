//! A run exported as OTLP to a second intake standing in for a collector: the span tree and the
//! `gen_ai.*` attributes must arrive as the GenAI semantic conventions describe them.

use std::collections::HashMap;

use agentpod_trace::{
    IssueTrace, LlmCallTrace, RunTrace, Span, SpanKind, SpanStatusCode, ToolCallTrace, TraceError,
    export_otlp,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::{run_client, start_intake};

fn at(milliseconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap() + Duration::milliseconds(milliseconds)
}

fn llm_call(model: &str, input_tokens: u64, output_tokens: u64, cost: Option<f64>) -> LlmCallTrace {
    LlmCallTrace {
        started_at: at(100),
        latency_ms: 250.5,
        provider: "openai".to_owned(),
        api: "chat.completions".to_owned(),
        model: model.to_owned(),
        response_model: Some(format!("{model}-2026-01-01")),
        response_id: Some("chatcmpl-1".to_owned()),
        finish_reasons: vec!["tool_calls".to_owned()],
        input_tokens,
        output_tokens,
        cached_input_tokens: 5,
        reasoning_tokens: 7,
        cost_usd: cost,
        streamed: true,
        request: Some(r#"{"model":"gpt-4.1-mini","messages":[]}"#.to_owned()),
        response: Some(r#"{"id":"chatcmpl-1"}"#.to_owned()),
        outcome: "ok".to_owned(),
        error: None,
    }
}

fn tool_call() -> ToolCallTrace {
    ToolCallTrace {
        started_at: at(400),
        latency_ms: 12.25,
        tool: "query".to_owned(),
        server: None,
        call_id: Some("call_7".to_owned()),
        arguments: r#"{"sql":"SELECT 1"}"#.to_owned(),
        result: Some("[{\"?column?\":1}]".to_owned()),
        outcome: "ok".to_owned(),
        error: None,
        boundary_decision: Some("allowed".to_owned()),
    }
}

fn run_with(agent_spans: Vec<Span>) -> RunTrace {
    RunTrace {
        run_id: "run-42".to_owned(),
        spec: "support-triage".to_owned(),
        agent_version: "v3".to_owned(),
        issues: vec![
            IssueTrace {
                issue_id: "issue-17".to_owned(),
                trial: 1,
                started_at: at(0),
                ended_at: at(2_000),
                outcome: "passed".to_owned(),
                error: None,
                llm_calls: vec![
                    llm_call("gpt-4.1-mini", 120, 30, Some(0.0012)),
                    llm_call("gpt-4.1-mini", 200, 40, Some(0.0021)),
                ],
                tool_calls: vec![tool_call()],
                agent_spans,
            },
            IssueTrace {
                issue_id: "issue-18".to_owned(),
                trial: 1,
                started_at: at(3_000),
                ended_at: at(4_000),
                outcome: "error".to_owned(),
                error: Some("agent exited with status 2".to_owned()),
                llm_calls: vec![llm_call("mystery-model", 10, 0, None)],
                tool_calls: Vec::new(),
                agent_spans: Vec::new(),
            },
        ],
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> &'a Value {
    span.attributes
        .get(key)
        .unwrap_or_else(|| panic!("span `{}` has no `{key}`", span.name))
}

#[tokio::test]
async fn an_exported_run_arrives_as_one_genai_trace_per_issue() {
    // The agent's own spans come from the real SDK through a first intake, as in a run.
    let agent_intake = start_intake().await;
    let agent_access = agent_intake.register_issue("issue-17");
    let printed = run_client("nested_spans.py", &agent_access.environment()).await;
    assert_eq!(printed["result"], "SUCCESS");
    let agent_spans = agent_intake.finish_issue(&agent_access.token).spans;
    agent_intake.shutdown().await;
    assert_eq!(agent_spans.len(), 4);

    let collector = start_intake().await;
    let collector_access = collector.register_issue("collector");
    let run = run_with(agent_spans.clone());
    let report = export_otlp(&collector_access.url, &run).await;
    let received = collector.finish_issue(&collector_access.token);
    collector.shutdown().await;

    let report = report.expect("the export succeeds");
    assert_eq!(report.url, format!("{}/v1/traces", collector_access.url));
    assert_eq!(report.traces, 2);
    // Issue 17: root + 2 chat + 1 tool + 4 agent spans; issue 18: root + 1 chat.
    assert_eq!(report.spans, 10);
    assert_eq!(report.rejected_spans, 0);
    assert_eq!(received.spans.len(), 10);
    assert_eq!(received.exports.len(), 2, "one request per issue");

    let mut traces: HashMap<&str, Vec<&Span>> = HashMap::new();
    for span in &received.spans {
        traces.entry(span.trace_id.as_str()).or_default().push(span);
    }
    assert_eq!(traces.len(), 2);
    let root_of = |issue: &str| {
        received
            .spans
            .iter()
            .filter(|span| span.parent_span_id.is_none())
            .find(|span| attribute(span, "agentpod.issue.id") == issue)
            .unwrap_or_else(|| panic!("no root span for {issue}"))
    };

    // Issue 17: the agent span and its children.
    let root = root_of("issue-17");
    let trace = &traces[root.trace_id.as_str()];
    assert_eq!(trace.len(), 8);
    assert_eq!(root.name, "invoke_agent support-triage");
    assert_eq!(root.kind, SpanKind::Internal);
    assert_eq!(root.start, "2026-03-04T05:06:07.000000000Z");
    assert_eq!(root.end, "2026-03-04T05:06:09.000000000Z");
    assert_eq!(root.status.code, SpanStatusCode::Unset);
    for (key, expected) in [
        ("gen_ai.operation.name", json!("invoke_agent")),
        ("gen_ai.agent.name", json!("support-triage")),
        ("gen_ai.agent.id", json!("support-triage/v3")),
        ("gen_ai.agent.version", json!("v3")),
        ("gen_ai.conversation.id", json!("run-42/issue-17")),
        ("gen_ai.provider.name", json!("openai")),
        ("gen_ai.request.model", json!("gpt-4.1-mini")),
        ("gen_ai.usage.input_tokens", json!(320)),
        ("gen_ai.usage.output_tokens", json!(70)),
        ("agentpod.issue.outcome", json!("passed")),
        ("agentpod.llm_calls", json!(2)),
        ("agentpod.tool_calls", json!(1)),
        ("agentpod.cost_complete", json!(true)),
    ] {
        assert_eq!(attribute(root, key), &expected, "{key}");
    }
    let cost = attribute(root, "agentpod.cost_usd").as_f64().unwrap();
    assert!((cost - 0.0033).abs() < 1e-12, "{cost}");
    assert_eq!(root.resource_attributes["service.name"], json!("agentpod"));
    assert_eq!(root.resource_attributes["agentpod.run.id"], json!("run-42"));

    let children: Vec<&&Span> = trace
        .iter()
        .filter(|span| span.parent_span_id.as_deref() == Some(root.span_id.as_str()))
        .collect();
    let mut child_names: Vec<&str> = children.iter().map(|span| span.name.as_str()).collect();
    child_names.sort_unstable();
    assert_eq!(
        child_names,
        [
            "chat gpt-4.1-mini",
            "chat gpt-4.1-mini",
            "execute_tool query",
            "handle issue"
        ]
    );

    let chat = children
        .iter()
        .find(|span| span.name == "chat gpt-4.1-mini")
        .unwrap();
    assert_eq!(chat.kind, SpanKind::Client);
    assert_eq!(chat.start, "2026-03-04T05:06:07.100000000Z");
    assert_eq!(chat.end, "2026-03-04T05:06:07.350500000Z");
    assert_eq!(chat.duration_ms, 250.5);
    for (key, expected) in [
        ("gen_ai.operation.name", json!("chat")),
        ("gen_ai.provider.name", json!("openai")),
        ("gen_ai.system", json!("openai")),
        ("gen_ai.request.model", json!("gpt-4.1-mini")),
        ("gen_ai.response.model", json!("gpt-4.1-mini-2026-01-01")),
        ("gen_ai.response.id", json!("chatcmpl-1")),
        ("gen_ai.response.finish_reasons", json!(["tool_calls"])),
        ("gen_ai.usage.cache_read.input_tokens", json!(5)),
        ("gen_ai.usage.reasoning.output_tokens", json!(7)),
        ("agentpod.llm.api", json!("chat.completions")),
        ("agentpod.llm.streamed", json!(true)),
        (
            "agentpod.llm.request",
            json!(r#"{"model":"gpt-4.1-mini","messages":[]}"#),
        ),
    ] {
        assert_eq!(attribute(chat, key), &expected, "{key}");
    }
    let mut chat_usage: Vec<(i64, i64)> = children
        .iter()
        .filter(|span| span.name.starts_with("chat "))
        .map(|span| {
            (
                attribute(span, "gen_ai.usage.input_tokens")
                    .as_i64()
                    .unwrap(),
                attribute(span, "gen_ai.usage.output_tokens")
                    .as_i64()
                    .unwrap(),
            )
        })
        .collect();
    chat_usage.sort_unstable();
    assert_eq!(chat_usage, [(120, 30), (200, 40)]);

    let tool = children
        .iter()
        .find(|span| span.name == "execute_tool query")
        .unwrap();
    assert_eq!(tool.kind, SpanKind::Internal);
    assert_eq!(tool.duration_ms, 12.25);
    for (key, expected) in [
        ("gen_ai.operation.name", json!("execute_tool")),
        ("gen_ai.tool.name", json!("query")),
        ("gen_ai.tool.call.id", json!("call_7")),
        ("gen_ai.tool.call.arguments", json!(r#"{"sql":"SELECT 1"}"#)),
        ("gen_ai.tool.call.result", json!("[{\"?column?\":1}]")),
        ("agentpod.boundary.decision", json!("allowed")),
    ] {
        assert_eq!(attribute(tool, key), &expected, "{key}");
    }

    // The agent's spans keep their ids, names, attributes and inner links; only their root moved
    // under the issue's root span and into its trace.
    for original in &agent_spans {
        let exported = trace
            .iter()
            .find(|span| span.span_id == original.span_id)
            .unwrap_or_else(|| panic!("agent span `{}` missing", original.name));
        assert_eq!(exported.name, original.name);
        assert_eq!(exported.start, original.start);
        assert_eq!(exported.end, original.end);
        assert_eq!(exported.attributes, original.attributes);
        assert_eq!(exported.events, original.events);
        assert_eq!(exported.status, original.status);
        assert_eq!(exported.resource_attributes, original.resource_attributes);
        assert_eq!(exported.scope, original.scope);
        match &original.parent_span_id {
            None => assert_eq!(
                exported.parent_span_id.as_deref(),
                Some(root.span_id.as_str())
            ),
            Some(parent) => assert_eq!(exported.parent_span_id.as_ref(), Some(parent)),
        }
    }

    // Issue 18 ended in error and used a model with no price.
    let failed = root_of("issue-18");
    assert_eq!(failed.status.code, SpanStatusCode::Error);
    assert_eq!(
        failed.status.message.as_deref(),
        Some("agent exited with status 2")
    );
    assert_eq!(attribute(failed, "error.type"), &json!("error"));
    assert_eq!(attribute(failed, "agentpod.cost_complete"), &json!(false));
    let failed_trace = &traces[failed.trace_id.as_str()];
    assert_eq!(failed_trace.len(), 2);
    let unpriced = failed_trace
        .iter()
        .find(|span| span.name == "chat mystery-model")
        .unwrap();
    assert_eq!(attribute(unpriced, "agentpod.price_unknown"), &json!(true));
    assert!(!unpriced.attributes.contains_key("agentpod.cost_usd"));
}

#[tokio::test]
async fn a_refusing_collector_is_reported_with_its_status() {
    let collector = start_intake().await;
    let endpoint = format!("http://{}/i/tr_not_registered", collector.local_addr());
    let result = export_otlp(&endpoint, &run_with(Vec::new())).await;
    collector.shutdown().await;

    match result {
        Err(TraceError::ExportRejected { status, body, .. }) => {
            assert_eq!(status, 401);
            assert!(body.contains("invalid_token"), "{body}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_collector_is_a_send_error() {
    // Bind then drop a listener to get a local port that nobody serves.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let result = export_otlp(&format!("http://{address}"), &run_with(Vec::new())).await;
    assert!(
        matches!(result, Err(TraceError::ExportSend { .. })),
        "{result:?}"
    );
    let invalid = export_otlp("ftp://collector.example:4318", &run_with(Vec::new())).await;
    assert!(matches!(invalid, Err(TraceError::InvalidEndpoint { .. })));
}

#[tokio::test]
async fn an_https_endpoint_is_reached_over_tls() {
    // The intake speaks plain HTTP, so the TLS handshake an https endpoint starts must fail
    // there: a send error, not a refused endpoint and not a request sent in the clear.
    let collector = start_intake().await;
    let endpoint = format!("https://{}/i/tr_not_registered", collector.local_addr());
    let result = export_otlp(&endpoint, &run_with(Vec::new())).await;
    collector.shutdown().await;
    match result {
        Err(TraceError::ExportSend { url, .. }) => assert!(url.starts_with("https://"), "{url}"),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}
