//! The official SDKs against a fake provider with known usage: what the gateway records must
//! equal what the upstream reported and what the client saw, and be priced from the table.

use agentpod_llm_gateway::{LlmApi, LlmBudget, PriceTable, Upstream};

use crate::support::fake_upstream::{FakeUpstream, UPSTREAM_KEY};
use crate::support::{assert_recorded_matches_client, fake_usage, run_client, start_gateway};

async fn check(
    script: &str,
    upstream_for: fn(&FakeUpstream) -> Upstream,
    model: &str,
    scenarios: &[&str],
) {
    let fake = FakeUpstream::start().await;
    let gateway = start_gateway(upstream_for(&fake)).await;
    let access = gateway.register_issue("issue-1", LlmBudget::default());
    let lines = run_client(script, &access, model, scenarios).await;
    let record = gateway.finish_issue(&access.token);
    assert_recorded_matches_client(script, &record.calls, &lines);
    let reported: Vec<_> = fake.reported().iter().map(fake_usage).collect();
    let recorded: Vec<_> = record.calls.iter().map(|call| call.usage).collect();
    assert_eq!(
        recorded, reported,
        "recorded usage equals what the upstream reported, call by call"
    );
    assert!(
        fake.wrong_keys().is_empty(),
        "the agent's token reached the upstream: {:?}",
        fake.wrong_keys()
    );
    let prices = PriceTable::built_in();
    let price = prices.lookup(model).expect("a priced model");
    let mut expected_cost = 0.0;
    for call in &record.calls {
        let cost = price.cost_usd(call.api, &call.usage);
        assert_eq!(call.cost_usd, Some(cost));
        assert!(!call.unknown_model && cost > 0.0);
        expected_cost += cost;
    }
    assert!((record.totals.cost_usd - expected_cost).abs() < 1e-12);
    gateway.shutdown().await;
}

fn openai(fake: &FakeUpstream) -> Upstream {
    Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    }
}

fn anthropic(fake: &FakeUpstream) -> Upstream {
    Upstream::Anthropic {
        base_url: fake.anthropic_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_through_the_gateway_to_a_fake_openai() {
    let scenarios = [
        "chat",
        "chat_stream",
        "chat_stream_usage",
        "tools",
        "responses",
        "responses_stream",
    ];
    check("openai_client.py", openai, "gpt-4o-2024-08-06", &scenarios).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_sdk_through_the_gateway_to_a_fake_anthropic() {
    check(
        "anthropic_client.py",
        anthropic,
        "claude-sonnet-4-20250514",
        &["messages", "messages_stream", "tools"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_pass_through_from_the_upstream() {
    let fake = FakeUpstream::start().await;
    let gateway = start_gateway(openai(&fake)).await;
    let access = gateway.register_issue("issue-tools", LlmBudget::default());
    let lines = run_client("openai_client.py", &access, "gpt-4.1", &["tools"]).await;
    assert_eq!(lines[0]["tool_calls"][0]["name"], "lookup_order");
    assert_eq!(
        lines[0]["tool_calls"][0]["arguments"],
        "{\"order_id\":\"42\"}"
    );
    let record = gateway.finish_issue(&access.token);
    assert_eq!(record.calls[0].api, LlmApi::OpenAiChat);
    assert!(record.calls[0].response.text.contains("lookup_order"));
    gateway.shutdown().await;
}
