//! The gateways end to end: an agent built on the official SDKs (openai, anthropic, mcp,
//! OpenTelemetry; tests/pods/agents/sdk-agent.py) runs 8 issues on 4 pods in parallel, and what
//! agentpod counted per issue — model calls, tokens, tool calls, spans — equals exactly what the
//! SDKs told the agent. Then the run is exported over OTLP to a collector (agentpod's own trace
//! intake, started here) and arrives as GenAI-convention traces.

use std::net::SocketAddr;

use agentpod_end_to_end::Scratch;
use agentpod_trace::{TraceIntake, TraceIntakeConfig};

#[test]
fn counted_usage_equals_what_the_sdks_saw_and_the_run_exports_as_otlp() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "run",
        "tests/pods/sdk-agent.yaml",
        "--runtime",
        "local",
        "--no-progress",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown = scratch.show("latest");
    let run_id = shown["run"]["id"].as_str().unwrap().to_string();
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 8);
    for outcome in outcomes {
        assert_eq!(outcome["status"], "passed", "{outcome}");
        let seen = &outcome["output"]["seen"];
        let usage = &outcome["usage"];
        for counter in ["llm_calls", "input_tokens", "output_tokens", "tool_calls"] {
            assert_eq!(
                usage[counter], seen[counter],
                "{counter} of {}: {usage} vs {seen}",
                outcome["issue_id"]
            );
        }
        assert_eq!(
            usage["cost_usd"], 0.0,
            "the stand-in is free, and priced: {usage}"
        );
        assert!(seen["input_tokens"].as_u64().unwrap() > 0);
    }
    let steps: serde_json::Value = {
        let trace = scratch.run(&["trace", &run_id, "K-1", "--json"]);
        assert!(
            trace.status.success(),
            "{}",
            String::from_utf8_lossy(&trace.stderr)
        );
        serde_json::from_slice(&trace.stdout).unwrap()
    };
    let texts: Vec<&str> = steps["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.starts_with("model agentpod-stand-in"))
            .count(),
        3,
        "{texts:#?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.starts_with("tool "))
            .count(),
        2,
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|text| text.starts_with("span sdk-agent.triage")),
        "the agent's own span: {texts:#?}"
    );

    // Export to a collector.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let collector = runtime
        .block_on(TraceIntake::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            TraceIntakeConfig::default(),
        ))
        .unwrap();
    let access = collector.register_issue("collector");
    let exported = scratch.run(&["export", &run_id, "--otlp", &access.url]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let spans = collector.finish_issue(&access.token).spans;
    runtime.block_on(collector.shutdown());
    let named = |prefix: &str| {
        spans
            .iter()
            .filter(|span| span.name.starts_with(prefix))
            .count()
    };
    assert_eq!(named("invoke_agent"), 8, "one trace per issue");
    assert_eq!(
        named("chat agentpod-stand-in"),
        24,
        "3 model calls per issue"
    );
    assert_eq!(named("execute_tool"), 16, "2 tool calls per issue");
    assert_eq!(
        named("sdk-agent.triage"),
        8,
        "the agent's own spans, re-parented"
    );
    let chat = spans
        .iter()
        .find(|span| span.name.starts_with("chat"))
        .unwrap();
    assert_eq!(chat.attributes["gen_ai.operation.name"], "chat");
    assert!(
        chat.attributes.contains_key("gen_ai.usage.input_tokens"),
        "{:?}",
        chat.attributes
    );
}
