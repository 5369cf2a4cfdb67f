//! The official SDKs against the offline stand-in model.

use agentpod_llm_gateway::{LlmBudget, StandInRule, StandInRules, Upstream};
use serde_json::json;

use crate::support::{assert_recorded_matches_client, run_client, start_gateway};

const OPENAI_SCENARIOS: &[&str] = &[
    "chat",
    "chat_stream",
    "chat_stream_usage",
    "tools",
    "responses",
    "responses_stream",
];
const ANTHROPIC_SCENARIOS: &[&str] = &["messages", "messages_stream", "tools"];

fn rules() -> StandInRules {
    StandInRules {
        rules: vec![StandInRule {
            when: vec!["REFUND".to_owned()],
            tool: Some("lookup_order".to_owned()),
            arguments: json!({"order_id": "42"}),
            reply: None,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_against_the_stand_in() {
    let gateway = start_gateway(Upstream::StandIn(rules())).await;
    let access = gateway.register_issue("issue-openai", LlmBudget::default());
    let lines = run_client("openai_client.py", &access, "gpt-4o", OPENAI_SCENARIOS).await;
    let record = gateway.finish_issue(&access.token);
    assert_recorded_matches_client("openai_client.py", &record.calls, &lines);
    assert_eq!(lines[0]["system_fingerprint"], "agentpod-stand-in");
    assert_eq!(lines[0]["model"], "agentpod-stand-in");
    assert!(
        lines[0]["text"].as_str().unwrap().contains("stand-in"),
        "{}",
        lines[0]
    );
    let tool_lines: Vec<_> = lines
        .iter()
        .filter(|line| line["scenario"] == "tools")
        .collect();
    assert_eq!(
        tool_lines[0]["tool_calls"],
        json!([{"name": "lookup_order", "arguments": "{\"order_id\":\"42\"}"}])
    );
    assert!(
        tool_lines[1]["text"]
            .as_str()
            .unwrap()
            .contains("order 42: refunded on May 3")
    );
    assert!(
        record
            .calls
            .iter()
            .all(|call| call.cost_usd == Some(0.0) && !call.unknown_model)
    );
    assert_eq!(record.issue_id, "issue-openai");
    assert_eq!(record.totals.calls, 7);
    // Deterministic: the same requests again give the same texts and usage.
    let again = gateway.register_issue("issue-openai-again", LlmBudget::default());
    let lines_again = run_client("openai_client.py", &again, "gpt-4o", OPENAI_SCENARIOS).await;
    assert_eq!(lines, lines_again);
    let record_again = gateway.finish_issue(&again.token);
    assert_eq!(record_again.totals.usage, record.totals.usage);
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_sdk_against_the_stand_in() {
    let gateway = start_gateway(Upstream::StandIn(rules())).await;
    let access = gateway.register_issue("issue-anthropic", LlmBudget::default());
    let lines = run_client(
        "anthropic_client.py",
        &access,
        "claude-sonnet-4",
        ANTHROPIC_SCENARIOS,
    )
    .await;
    let record = gateway.finish_issue(&access.token);
    assert_recorded_matches_client("anthropic_client.py", &record.calls, &lines);
    assert_eq!(lines[0]["model"], "agentpod-stand-in");
    // Neither greeting matches a rule, streamed or not: both get the labelled default answer.
    assert_eq!(lines[0]["text"], lines[1]["text"]);
    assert!(lines[0]["text"].as_str().unwrap().contains("stand-in"));
    let tool_lines: Vec<_> = lines
        .iter()
        .filter(|line| line["scenario"] == "tools")
        .collect();
    assert_eq!(
        tool_lines[0]["tool_calls"],
        json!([{"name": "lookup_order", "arguments": "{\"order_id\": \"42\"}"}])
    );
    assert!(
        tool_lines[1]["text"]
            .as_str()
            .unwrap()
            .contains("order 42: refunded on May 3")
    );
    assert!(record.calls[1].streamed && record.calls[1].time_to_first_byte_ms.is_some());
    assert!(record.calls[1].response.text.contains("agentpod-stand-in"));
    gateway.shutdown().await;
}
