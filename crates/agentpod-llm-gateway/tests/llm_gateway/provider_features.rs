//! Requests that would make the provider act outside the pod (fetch a URL or a stored file, run
//! a server-side tool, change the billing tier, keep state on the account) are refused with a
//! 400 naming the field, recorded, and never reach the upstream; ordinary requests still pass.
//! So is a body that repeats a field the policy reads (a provider may read the other value).

use std::collections::BTreeSet;

use agentpod_llm_gateway::{CallOutcome, LlmBudget, LlmGateway, ProviderFeature, Upstream};
use serde_json::{Value, json};

use crate::support::fake_upstream::{FakeUpstream, UPSTREAM_KEY};
use crate::support::{http_client, run_client, start_gateway, start_gateway_with};

const CHAT: &str = "/v1/chat/completions";
const RESPONSES: &str = "/v1/responses";
const MESSAGES: &str = "/v1/messages";

async fn post(gateway: &LlmGateway, route: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = http_client()
        .post(format!("http://{}{route}", gateway.local_addr()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("reach the gateway");
    let status = response.status().as_u16();
    let text = response.text().await.expect("read the body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn user(content: Value) -> Value {
    json!([{"role": "user", "content": content}])
}

fn chat(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-4o", "messages": user(json!("hi"))});
    merge(&mut body, extra);
    body
}

fn responses(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-4o", "input": "hi"});
    merge(&mut body, extra);
    body
}

fn messages(extra: Value) -> Value {
    let mut body =
        json!({"model": "claude-sonnet-4", "max_tokens": 64, "messages": user(json!("hi"))});
    merge(&mut body, extra);
    body
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

/// (route, body, the field the refusal must name, the feature it needs).
fn refused_requests() -> Vec<(&'static str, Value, &'static str, ProviderFeature)> {
    use ProviderFeature::{ProviderTools, RemoteInputs, ServerState, ServiceTier};
    let remote_image = json!([{"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]);
    let mut cases = vec![
        (
            CHAT,
            chat(json!({"messages": user(remote_image.clone())})),
            "messages[0].content[1].image_url.url",
            RemoteInputs,
        ),
        (
            CHAT,
            chat(json!({"stream": true, "messages": user(json!([
                {"type": "image_url", "image_url": {"url": "http://10.0.0.1/internal.png"}}]))})),
            "messages[0].content[0].image_url.url",
            RemoteInputs,
        ),
        (
            CHAT,
            chat(
                json!({"messages": user(json!([{"type": "file", "file": {"file_id": "file-abc"}}]))}),
            ),
            "messages[0].content[0].file.file_id",
            RemoteInputs,
        ),
        (
            CHAT,
            chat(json!({"web_search_options": {}})),
            "web_search_options",
            ProviderTools,
        ),
        (
            CHAT,
            chat(json!({"service_tier": "priority"})),
            "service_tier",
            ServiceTier,
        ),
        (CHAT, chat(json!({"store": true})), "store", ServerState),
        (
            RESPONSES,
            responses(json!({"input": [{"role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "https://example.com/cat.png"}]}]})),
            "input[0].content[1].image_url",
            RemoteInputs,
        ),
        (
            RESPONSES,
            responses(json!({"input": [{"role": "user", "content": [
                {"type": "input_file", "file_url": "https://example.com/report.pdf"}]}]})),
            "input[0].content[0].file_url",
            RemoteInputs,
        ),
        (
            RESPONSES,
            responses(json!({"background": true})),
            "background",
            ServerState,
        ),
        (
            RESPONSES,
            responses(json!({"previous_response_id": "resp_123"})),
            "previous_response_id",
            ServerState,
        ),
        (
            RESPONSES,
            responses(json!({"conversation": "conv_123"})),
            "conversation",
            ServerState,
        ),
        (
            RESPONSES,
            responses(json!({"store": true})),
            "store",
            ServerState,
        ),
        (
            RESPONSES,
            responses(json!({"service_tier": "flex"})),
            "service_tier",
            ServiceTier,
        ),
        (
            MESSAGES,
            messages(json!({"messages": user(json!([
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}]))})),
            "messages[0].content[0].source.type",
            RemoteInputs,
        ),
        (
            MESSAGES,
            messages(
                json!({"messages": user(json!([{"type": "text", "text": "read"},
                {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}]))}),
            ),
            "messages[0].content[1].source.type",
            RemoteInputs,
        ),
        (
            MESSAGES,
            messages(
                json!({"mcp_servers": [{"type": "url", "url": "https://mcp.example.com/sse", "name": "x"}]}),
            ),
            "mcp_servers",
            ProviderTools,
        ),
        (
            MESSAGES,
            messages(json!({"service_tier": "auto"})),
            "service_tier",
            ServiceTier,
        ),
    ];
    for tool_type in [
        "web_search",
        "web_search_preview",
        "file_search",
        "code_interpreter",
        "computer_use_preview",
        "image_generation",
        "mcp",
    ] {
        let tools =
            json!([{"type": "function", "name": "lookup", "parameters": {}}, {"type": tool_type}]);
        cases.push((
            RESPONSES,
            responses(json!({"tools": tools})),
            "tools[1].type",
            ProviderTools,
        ));
    }
    for tool_type in [
        "web_search_20250305",
        "web_fetch_20250910",
        "code_execution_20250825",
        "computer_20250124",
        "bash_20250124",
        "text_editor_20250728",
    ] {
        let tools = json!([{"name": "lookup", "input_schema": {"type": "object"}},
            {"type": tool_type, "name": "server_tool"}]);
        cases.push((
            MESSAGES,
            messages(json!({"tools": tools})),
            "tools[1].type",
            ProviderTools,
        ));
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_features_are_refused_before_the_upstream_and_recorded() {
    let fake = FakeUpstream::start().await;
    let openai = start_gateway(Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    let anthropic = start_gateway(Upstream::Anthropic {
        base_url: fake.anthropic_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    // One allowed call per API after the refusals: refusals must not use up `max_calls`.
    let openai_issue = openai.register_issue(
        "issue-openai",
        LlmBudget {
            max_calls: Some(2),
            ..LlmBudget::default()
        },
    );
    let anthropic_issue = anthropic.register_issue(
        "issue-anthropic",
        LlmBudget {
            max_calls: Some(1),
            ..LlmBudget::default()
        },
    );
    let cases = refused_requests();
    for (route, body, field, feature) in &cases {
        let (gateway, token) = if *route == MESSAGES {
            (&anthropic, &anthropic_issue.token)
        } else {
            (&openai, &openai_issue.token)
        };
        let (status, answer) = post(gateway, route, token, body).await;
        assert_eq!(status, 400, "{route} {body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("`{field}`")) && message.contains(feature.name()),
            "the refusal names the field and the feature: {answer}"
        );
        if *route == MESSAGES {
            assert_eq!(answer["type"], "error", "anthropic-shaped: {answer}");
        } else {
            assert_eq!(answer["error"]["param"], *field, "{answer}");
        }
    }
    assert_eq!(
        fake.request_count(),
        0,
        "a refused request reached the upstream"
    );

    let inline_image = "data:image/png;base64,iVBORw0KGgo=";
    let (status, answer) = post(
        &openai,
        CHAT,
        &openai_issue.token,
        &chat(json!({
            "messages": user(json!([{"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": inline_image}}])),
            "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
            "store": false, "metadata": {"run": "test"}, "user": "agent", "prompt_cache_key": "k",
        })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post(
        &openai,
        RESPONSES,
        &openai_issue.token,
        &responses(json!({
            "input": [{"role": "user", "content": [{"type": "input_image", "image_url": inline_image}]}],
            "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}},
                      {"type": "custom", "name": "grammar_tool"}],
            "store": false, "background": false,
        })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post(
        &anthropic,
        MESSAGES,
        &anthropic_issue.token,
        &messages(json!({
            "messages": user(json!([{"type": "image", "source": {"type": "base64",
                "media_type": "image/png", "data": "iVBORw0KGgo="}}])),
            "tools": [{"name": "lookup", "input_schema": {"type": "object"}},
                      {"type": "custom", "name": "other", "input_schema": {"type": "object"}}],
        })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        fake.request_count(),
        3,
        "only the three ordinary requests reached the upstream"
    );

    let mut calls = openai.finish_issue(&openai_issue.token).calls;
    calls.extend(anthropic.finish_issue(&anthropic_issue.token).calls);
    let refused: Vec<_> = calls
        .iter()
        .filter(|call| call.outcome == CallOutcome::ProviderFeatureRefused)
        .collect();
    assert_eq!(refused.len(), cases.len(), "every refusal is recorded");
    for call in &refused {
        assert_eq!(call.status, 400);
        assert_eq!(call.total_tokens, 0);
        assert!(
            call.error
                .as_deref()
                .is_some_and(|error| error.contains("refuses")),
            "{call:#?}"
        );
        assert!(!call.request.text.is_empty(), "the request is kept");
    }
    assert_eq!(
        calls
            .iter()
            .filter(|call| call.outcome == CallOutcome::Ok)
            .count(),
        3
    );
    openai.shutdown().await;
    anthropic.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_sdks_see_the_refusal_as_a_400_that_names_the_field() {
    let fake = FakeUpstream::start().await;
    let openai = start_gateway(Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    let access = openai.register_issue("issue-sdk", LlmBudget::default());
    let lines = run_client(
        "openai_client.py",
        &access,
        "gpt-4o",
        &["web_search", "remote_image", "chat"],
    )
    .await;
    assert_eq!(lines[0]["error_status"], 400, "{}", lines[0]);
    assert!(
        lines[0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("tools[0].type")),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["error_status"], 400, "{}", lines[1]);
    assert!(
        lines[1]["error"]
            .as_str()
            .is_some_and(|error| error.contains("messages[0].content[1].image_url.url")),
        "{}",
        lines[1]
    );
    assert!(lines[2]["usage"].is_object(), "{}", lines[2]);
    let outcomes: Vec<_> = openai
        .finish_issue(&access.token)
        .calls
        .iter()
        .map(|call| call.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            CallOutcome::ProviderFeatureRefused,
            CallOutcome::ProviderFeatureRefused,
            CallOutcome::Ok
        ]
    );

    let anthropic = start_gateway(Upstream::Anthropic {
        base_url: fake.anthropic_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    let access = anthropic.register_issue("issue-sdk-anthropic", LlmBudget::default());
    let lines = run_client(
        "anthropic_client.py",
        &access,
        "claude-sonnet-4",
        &["web_fetch"],
    )
    .await;
    assert_eq!(lines[0]["error_status"], 400, "{}", lines[0]);
    assert!(
        lines[0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("tools[0].type")),
        "{}",
        lines[0]
    );
    assert_eq!(
        fake.request_count(),
        1,
        "only the ordinary chat call passed"
    );
    openai.shutdown().await;
    anthropic.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_can_allow_a_provider_feature() {
    let fake = FakeUpstream::start().await;
    let gateway = start_gateway_with(
        Upstream::OpenAi {
            base_url: fake.openai_base_url(),
            api_key: UPSTREAM_KEY.to_owned(),
        },
        |config| {
            config.allowed_provider_features = BTreeSet::from([ProviderFeature::ServiceTier]);
        },
    )
    .await;
    let access = gateway.register_issue("issue-allowed", LlmBudget::default());
    let (status, answer) = post(
        &gateway,
        CHAT,
        &access.token,
        &chat(json!({"service_tier": "flex"})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post(
        &gateway,
        CHAT,
        &access.token,
        &chat(json!({"service_tier": "flex", "store": true})),
    )
    .await;
    assert_eq!(status, 400, "store stays refused: {answer}");
    assert_eq!(fake.request_count(), 1);
    gateway.shutdown().await;
}

/// Posts `body` exactly as written (a `Value` cannot hold a repeated key).
async fn post_raw(gateway: &LlmGateway, route: &str, token: &str, body: &str) -> (u16, Value) {
    let response = http_client()
        .post(format!("http://{}{route}", gateway.local_addr()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("reach the gateway");
    let status = response.status().as_u16();
    let text = response.text().await.expect("read the body");
    (status, serde_json::from_str(&text).expect("a json answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_repeats_a_field_the_policy_reads_is_refused() {
    let fake = FakeUpstream::start().await;
    let gateway = start_gateway(Upstream::OpenAi {
        base_url: fake.openai_base_url(),
        api_key: UPSTREAM_KEY.to_owned(),
    })
    .await;
    let access = gateway.register_issue("issue-repeats", LlmBudget::default());
    // The last `store` is `false`; a provider whose parser keeps the first would store.
    let (status, answer) = post_raw(
        &gateway,
        CHAT,
        &access.token,
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"store":true,"store":false}"#,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["param"], "store", "{answer}");
    assert_eq!(answer["error"]["code"], "repeated_field", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("repeats the field `store`")),
        "{answer}"
    );
    // A repeat where no rule looks passes.
    let (status, answer) = post_raw(
        &gateway,
        CHAT,
        &access.token,
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"metadata":{"a":"1","a":"2"}}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        fake.request_count(),
        1,
        "the refused body never went upstream"
    );
    let outcomes: Vec<_> = gateway
        .finish_issue(&access.token)
        .calls
        .iter()
        .map(|call| call.outcome)
        .collect();
    assert_eq!(outcomes, [CallOutcome::BadRequest, CallOutcome::Ok]);
    gateway.shutdown().await;
}
