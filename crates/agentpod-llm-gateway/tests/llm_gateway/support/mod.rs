//! Shared test helpers: the fake upstream, gateways on loopback, and the Python SDK clients.

#![allow(dead_code)]

pub mod fake_upstream;
pub mod throttling_upstream;

use std::path::PathBuf;
use std::time::Duration;

use agentpod_llm_gateway::{
    IssueAccess, LlmApi, LlmCall, LlmConfig, LlmGateway, TokenUsage, Upstream,
};
use serde_json::Value;

pub async fn start_gateway(upstream: Upstream) -> LlmGateway {
    start_gateway_with(upstream, |_| {}).await
}

/// A gateway on loopback whose configuration `adjust` changes first.
pub async fn start_gateway_with(
    upstream: Upstream,
    adjust: impl FnOnce(&mut LlmConfig),
) -> LlmGateway {
    let mut config = LlmConfig::new(upstream);
    config.request_timeout = Duration::from_secs(2);
    adjust(&mut config);
    LlmGateway::start("127.0.0.1:0".parse().expect("address"), config)
        .await
        .expect("start the gateway")
}

/// A plain HTTP client. reqwest is built without a bundled crypto provider and only the gateway's
/// HTTP upstream installs one, so a test against the stand-in installs it here.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// Runs a client script against the gateway and returns the JSON line it printed per call.
pub async fn run_client(
    script_name: &str,
    access: &IssueAccess,
    model: &str,
    scenarios: &[&str],
) -> Vec<Value> {
    let output = tokio::process::Command::new(python())
        .arg(script(script_name))
        .args(scenarios)
        .envs(access.environment())
        .env("AGENTPOD_TEST_MODEL", model)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client {script_name} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("bad client line {line}: {error}"))
        })
        .collect()
}

/// The usage a client printed, read with the same field names the API uses.
pub fn client_usage(api: LlmApi, usage: &Value) -> TokenUsage {
    let number = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    match api {
        LlmApi::OpenAiChat => TokenUsage {
            input_tokens: number("/prompt_tokens"),
            output_tokens: number("/completion_tokens"),
            cached_input_tokens: number("/prompt_tokens_details/cached_tokens"),
            cache_creation_input_tokens: 0,
            reasoning_tokens: number("/completion_tokens_details/reasoning_tokens"),
        },
        LlmApi::OpenAiResponses => TokenUsage {
            input_tokens: number("/input_tokens"),
            output_tokens: number("/output_tokens"),
            cached_input_tokens: number("/input_tokens_details/cached_tokens"),
            cache_creation_input_tokens: 0,
            reasoning_tokens: number("/output_tokens_details/reasoning_tokens"),
        },
        _ => TokenUsage {
            input_tokens: number("/input_tokens"),
            output_tokens: number("/output_tokens"),
            cached_input_tokens: number("/cache_read_input_tokens"),
            cache_creation_input_tokens: number("/cache_creation_input_tokens"),
            reasoning_tokens: 0,
        },
    }
}

pub fn api_of(scenario: &str, script_name: &str) -> LlmApi {
    if script_name.starts_with("anthropic") {
        LlmApi::AnthropicMessages
    } else if scenario.starts_with("responses") {
        LlmApi::OpenAiResponses
    } else {
        LlmApi::OpenAiChat
    }
}

/// Asserts call by call that the gateway recorded exactly the usage each client saw.
pub fn assert_recorded_matches_client(script_name: &str, calls: &[LlmCall], lines: &[Value]) {
    assert_eq!(
        calls.len(),
        lines.len(),
        "one record per client call: {calls:#?}"
    );
    for (call, line) in calls.iter().zip(lines) {
        let scenario = line["scenario"].as_str().expect("scenario");
        let api = api_of(scenario, script_name);
        assert_eq!(call.api, api, "{scenario}");
        assert_eq!(call.status, 200, "{scenario}: {call:#?}");
        assert_eq!(call.error, None, "{scenario}");
        if line["usage"].is_null() {
            // A chat stream whose agent did not ask for usage: the gateway still metered it.
            assert_eq!(scenario, "chat_stream");
            assert!(
                call.usage.input_tokens > 0 && call.usage.output_tokens > 0,
                "{call:#?}"
            );
            assert_eq!(
                line["empty_chunks"], 0,
                "the injected usage chunk leaked to the client"
            );
        } else {
            assert_eq!(call.usage, client_usage(api, &line["usage"]), "{scenario}");
        }
    }
}

pub fn fake_usage(reported: &fake_upstream::Reported) -> TokenUsage {
    let api = match reported.api {
        "openai.chat" => LlmApi::OpenAiChat,
        "openai.responses" => LlmApi::OpenAiResponses,
        _ => LlmApi::AnthropicMessages,
    };
    client_usage(api, &reported.usage)
}

pub fn sum(usages: impl IntoIterator<Item = TokenUsage>) -> TokenUsage {
    usages
        .into_iter()
        .fold(TokenUsage::default(), |mut total, usage| {
            total.input_tokens += usage.input_tokens;
            total.output_tokens += usage.output_tokens;
            total.cached_input_tokens += usage.cached_input_tokens;
            total.cache_creation_input_tokens += usage.cache_creation_input_tokens;
            total.reasoning_tokens += usage.reasoning_tokens;
            total
        })
}
