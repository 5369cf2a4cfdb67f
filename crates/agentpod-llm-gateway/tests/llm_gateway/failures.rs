//! Refusals and failures: each gets a clear error and a record, and the gateway keeps serving.

use agentpod_llm_gateway::{
    BudgetKind, CallOutcome, LlmBudget, LlmGateway, StandInRules, Upstream,
};
use serde_json::{Value, json};

use crate::support::fake_upstream::{FakeUpstream, UPSTREAM_KEY};
use crate::support::{run_client, start_gateway};

async fn post(
    gateway: &LlmGateway,
    route: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}{route}", gateway.local_addr()))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("reach the gateway");
    let status = response.status().as_u16();
    let text = response.text().await.expect("read the body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn chat_body(model: &str) -> String {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_wrong_and_finished_tokens_are_refused_and_issues_stay_apart() {
    let gateway = start_gateway(Upstream::StandIn(StandInRules::default())).await;
    let first = gateway.register_issue("issue-a", LlmBudget::default());
    let second = gateway.register_issue("issue-b", LlmBudget::default());
    assert_ne!(first.token, second.token);
    let (status, body) = post(&gateway, "/v1/chat/completions", None, chat_body("m")).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing"),
        "{body}"
    );
    let (status, _) = post(
        &gateway,
        "/v1/chat/completions",
        Some("agentpod-not-a-token"),
        chat_body("m"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = post(
        &gateway,
        "/v1/chat/completions",
        Some(&first.token),
        chat_body("m"),
    )
    .await;
    assert_eq!(status, 200);
    let second_record = gateway.finish_issue(&second.token);
    assert!(
        second_record.calls.is_empty(),
        "issue b must not see issue a's call"
    );
    let first_record = gateway.finish_issue(&first.token);
    assert_eq!(first_record.calls.len(), 1);
    let (status, body) = post(
        &gateway,
        "/v1/chat/completions",
        Some(&first.token),
        chat_body("m"),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(gateway.finish_issue(&first.token).calls.is_empty());
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_gets_429_seen_by_the_sdk_and_recorded() {
    let gateway = start_gateway(Upstream::StandIn(StandInRules::default())).await;
    let budget = LlmBudget {
        max_calls: Some(2),
        ..LlmBudget::default()
    };
    let access = gateway.register_issue("issue-budget", budget);
    let lines = run_client(
        "openai_client.py",
        &access,
        "gpt-4o",
        &["chat", "chat", "chat"],
    )
    .await;
    assert!(lines[0]["usage"].is_object() && lines[1]["usage"].is_object());
    assert_eq!(lines[2]["error_status"], 429);
    assert!(
        lines[2]["error"].as_str().unwrap().contains("max_calls"),
        "{}",
        lines[2]
    );
    let record = gateway.finish_issue(&access.token);
    assert_eq!(record.budget_stops, 1);
    assert_eq!(record.calls.len(), 3);
    assert_eq!(record.calls[2].outcome, CallOutcome::BudgetStop);
    assert_eq!(record.calls[2].budget, Some(BudgetKind::MaxCalls));
    assert_eq!(record.calls[2].status, 429);

    let tokens = gateway.register_issue(
        "issue-tokens",
        LlmBudget {
            max_tokens: Some(1),
            ..LlmBudget::default()
        },
    );
    let lines = run_client(
        "anthropic_client.py",
        &tokens,
        "claude-sonnet-4",
        &["messages", "messages"],
    )
    .await;
    assert_eq!(lines[1]["error_status"], 429);
    assert!(
        lines[1]["error"].as_str().unwrap().contains("max_tokens"),
        "{}",
        lines[1]
    );
    assert_eq!(gateway.finish_issue(&tokens.token).budget_stops, 1);
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_unknown_requests_get_clear_errors_and_records() {
    let gateway = start_gateway(Upstream::StandIn(StandInRules::default())).await;
    let access = gateway.register_issue("issue-bad", LlmBudget::default());
    let token = Some(access.token.as_str());
    let (status, body) = post(&gateway, "/v1/chat/completions", token, "{\"model\": ").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid json"),
        "{body}"
    );
    let huge = format!(
        "{{\"model\":\"m\",\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "x".repeat(9 * 1024 * 1024)
    );
    let (status, body) = post(&gateway, "/v1/messages", token, huge).await;
    assert_eq!(status, 413);
    assert_eq!(body["type"], "error", "anthropic-shaped: {body}");
    let (status, body) = post(&gateway, "/v1/embeddings", token, "{}").await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/embeddings"),
        "{body}"
    );
    let (status, _) = post(&gateway, "/v1/chat/completions", token, chat_body("m")).await;
    assert_eq!(status, 200, "the gateway keeps serving");
    let record = gateway.finish_issue(&access.token);
    let outcomes: Vec<_> = record.calls.iter().map(|call| call.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            CallOutcome::BadRequest,
            CallOutcome::TooLarge,
            CallOutcome::UnknownRoute,
            CallOutcome::Ok
        ]
    );
    assert_eq!(record.calls[0].request.text, "{\"model\": ");
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_model_is_flagged_not_priced_at_zero() {
    let fake = FakeUpstream::start().await;
    let gateway = start_gateway(Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    let access = gateway.register_issue("issue-unknown", LlmBudget::default());
    let lines = run_client("openai_client.py", &access, "mystery-model-7", &["chat"]).await;
    assert!(lines[0]["usage"].is_object());
    let record = gateway.finish_issue(&access.token);
    assert!(record.calls[0].unknown_model);
    assert_eq!(record.calls[0].cost_usd, None);
    assert!(record.calls[0].usage.input_tokens > 0);
    assert_eq!(record.totals.unpriced_calls, 1);
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_stalls_and_cut_streams_are_errors_and_the_next_call_works() {
    let fake = FakeUpstream::start().await;
    let openai = Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    };
    let gateway = start_gateway(openai).await;
    let access = gateway.register_issue("issue-failing", LlmBudget::default());
    let mut outcomes = Vec::new();
    for (model, scenario, expected_status, expected_outcome) in [
        ("fail-500", "chat", Some(500), CallOutcome::UpstreamError),
        ("stall", "chat", Some(504), CallOutcome::UpstreamTimeout),
        (
            "stall-stream",
            "chat_stream",
            None,
            CallOutcome::UpstreamTimeout,
        ),
        (
            "cut-stream",
            "chat_stream",
            None,
            CallOutcome::StreamInterrupted,
        ),
        (
            "cut-stream",
            "responses_stream",
            None,
            CallOutcome::StreamInterrupted,
        ),
        ("gpt-4o", "chat", None, CallOutcome::Ok),
    ] {
        let lines = run_client("openai_client.py", &access, model, &[scenario]).await;
        let line = &lines[0];
        if expected_outcome == CallOutcome::Ok {
            assert!(line["usage"].is_object(), "{line}");
        } else {
            assert!(
                line["error"].is_string(),
                "{model}: the client sees an error: {line}"
            );
            assert_eq!(
                line["error_status"].as_u64().map(|status| status as u16),
                expected_status,
                "{line}"
            );
        }
        outcomes.push(expected_outcome);
    }
    let record = gateway.finish_issue(&access.token);
    let recorded: Vec<_> = record.calls.iter().map(|call| call.outcome).collect();
    assert_eq!(recorded, outcomes);
    assert!(
        record.calls[..5].iter().all(|call| call.error.is_some()),
        "{:#?}",
        record.calls
    );
    assert!(
        record.calls[0]
            .error
            .as_deref()
            .unwrap()
            .contains("fake upstream exploded")
    );

    let anthropic = start_gateway(Upstream::Anthropic {
        base_url: fake.anthropic_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    let access = anthropic.register_issue("issue-anthropic-cut", LlmBudget::default());
    let lines = run_client(
        "anthropic_client.py",
        &access,
        "cut-stream",
        &["messages_stream"],
    )
    .await;
    assert!(
        lines[0]["error"].as_str().unwrap().contains("ended before"),
        "{}",
        lines[0]
    );
    let record = anthropic.finish_issue(&access.token);
    assert_eq!(record.calls[0].outcome, CallOutcome::StreamInterrupted);
    anthropic.shutdown().await;
    gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_502() {
    let fake = FakeUpstream::start().await;
    let base_url = fake.openai_base_url();
    fake.stop();
    let gateway = start_gateway(Upstream::OpenAiCompatible {
        base_url,
        api_key: None,
    })
    .await;
    let access = gateway.register_issue("issue-down", LlmBudget::default());
    let (status, body) = post(
        &gateway,
        "/v1/chat/completions",
        Some(&access.token),
        chat_body("m"),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    let record = gateway.finish_issue(&access.token);
    assert_eq!(record.calls[0].outcome, CallOutcome::UpstreamUnreachable);
    gateway.shutdown().await;
}
