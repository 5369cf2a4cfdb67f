//! `ModelClient`: a model that agentpod itself asks — the LLM judge, a simulated customer —
//! through a gateway of its own with no listener: its calls reach the gateway's routes in
//! process, so nothing outside agentpod can reach it, and go through the same handlers, upstreams
//! (real, OpenAI-compatible, record/replay, stand-in), metering and pricing as an agent's, so
//! cassettes replay its judgements deterministically; each session's calls come back as an
//! [`IssueLlmRecord`] that the caller stores apart from the agent's.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::error::LlmGatewayError;
use crate::issue_llm_record::IssueLlmRecord;
use crate::llm_budget::LlmBudget;
use crate::llm_config::{LlmConfig, Upstream};
use crate::llm_gateway::InProcessGateway;

/// The longest answer asked of a side model: a verdict with its reasoning, a customer's reply.
/// Bounds what one call costs whatever the agent did.
const MAX_ANSWER_TOKENS: u32 = 1024;

/// Who says a message in a conversation with the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

/// One message of a conversation sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub text: String,
}

impl ChatMessage {
    pub fn new(role: ChatRole, text: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role,
            text: text.into(),
        }
    }
}

/// Why a model asked by agentpod gave no text.
#[derive(Debug, thiserror::Error)]
pub enum ModelClientError {
    /// No answer in time, or an answer cut off: the gateway or its upstream failed.
    #[error("the model gave no answer: {0}")]
    Unanswered(String),
    #[error("the model answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the model's answer holds no text: {0}")]
    NoText(String),
}

/// The most of an answer a side model's caller reads.
const ANSWER_LIMIT_BYTES: usize = 16 << 20;

/// A gateway for agentpod's own model calls, and the model name its requests ask for; clones
/// share the gateway. The gateway has no listener: calls reach its routes in process, so
/// nothing outside agentpod (an agent on the same machine included) can reach it.
#[derive(Clone)]
pub struct ModelClient {
    shared: Arc<ClientShared>,
}

struct ClientShared {
    gateway: InProcessGateway,
    model: String,
    anthropic: bool,
    timeout: Duration,
}

impl ModelClient {
    /// Starts a gateway for `config`; requests ask for `model`.
    pub async fn start(config: LlmConfig, model: String) -> Result<ModelClient, LlmGatewayError> {
        let anthropic = speaks_anthropic(&config.upstream);
        // The gateway's own timeout answers first; this one only bounds a stuck handler.
        let timeout = config.request_timeout + Duration::from_secs(5);
        let gateway = InProcessGateway::new(config)?;
        Ok(ModelClient {
            shared: Arc::new(ClientShared {
                gateway,
                model,
                anthropic,
                timeout,
            }),
        })
    }

    /// The model name its requests ask for.
    pub fn model(&self) -> &str {
        &self.shared.model
    }

    /// A session of calls recorded under `label` (an issue's judging, a customer's turns); no
    /// budget.
    pub fn session(&self, label: &str) -> ModelSession {
        let token = self.shared.gateway.register(label, LlmBudget::default());
        ModelSession {
            client: Arc::clone(&self.shared),
            token,
        }
    }
}

/// Calls under one token; [`ModelSession::take_record`] returns what was recorded.
pub struct ModelSession {
    client: Arc<ClientShared>,
    token: String,
}

impl ModelSession {
    /// The model's text answer to `messages` (system messages first). `seed` is sent as the
    /// request's `seed` (OpenAI) so that repeats are distinct requests, recorded apart.
    pub async fn chat(
        &self,
        messages: &[ChatMessage],
        seed: Option<u64>,
    ) -> Result<String, ModelClientError> {
        let client = &self.client;
        let (route, body) = if client.anthropic {
            (
                "/v1/messages",
                anthropic_body(&client.model, messages, seed),
            )
        } else {
            (
                "/v1/chat/completions",
                openai_body(&client.model, messages, seed),
            )
        };
        let request = axum::http::Request::builder()
            .method("POST")
            .uri(route)
            .header("authorization", format!("Bearer {}", self.token))
            .header("x-api-key", &self.token)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .map_err(|error| ModelClientError::Unanswered(error.to_string()))?;
        let response = tokio::time::timeout(client.timeout, client.gateway.handle(request))
            .await
            .map_err(|_| {
                ModelClientError::Unanswered(format!(
                    "no answer within {} s",
                    client.timeout.as_secs()
                ))
            })?;
        let status = response.status().as_u16();
        let bytes = tokio::time::timeout(
            client.timeout,
            axum::body::to_bytes(response.into_body(), ANSWER_LIMIT_BYTES),
        )
        .await
        .map_err(|_| ModelClientError::Unanswered("the answer did not end in time".to_owned()))?
        .map_err(|error| ModelClientError::Unanswered(error.to_string()))?;
        let text = String::from_utf8_lossy(&bytes);
        if status != 200 {
            return Err(ModelClientError::Status {
                status,
                body: text.chars().take(500).collect(),
            });
        }
        let answer: Value = serde_json::from_str(&text)
            .map_err(|error| ModelClientError::NoText(error.to_string()))?;
        answer_text(&answer)
            .ok_or_else(|| ModelClientError::NoText(text.chars().take(500).collect()))
    }

    /// The model name its requests ask for.
    pub fn model(&self) -> &str {
        &self.client.model
    }

    /// Ends the session: every call it made, with usage and cost. Later calls are refused; a
    /// second take is empty.
    pub fn take_record(&self) -> IssueLlmRecord {
        self.client.gateway.finish(&self.token)
    }
}

fn speaks_anthropic(upstream: &Upstream) -> bool {
    match upstream {
        Upstream::Anthropic { .. } => true,
        Upstream::Record { upstream, .. } => speaks_anthropic(upstream),
        _ => false,
    }
}

fn openai_body(model: &str, messages: &[ChatMessage], seed: Option<u64>) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|message| {
            let role = match message.role {
                ChatRole::System => "system",
                ChatRole::User => "user",
                ChatRole::Assistant => "assistant",
            };
            json!({"role": role, "content": message.text})
        })
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "temperature": 0,
        "max_tokens": MAX_ANSWER_TOKENS,
    });
    if let Some(seed) = seed {
        body["seed"] = json!(seed);
    }
    body
}

fn anthropic_body(model: &str, messages: &[ChatMessage], seed: Option<u64>) -> Value {
    let system: Vec<&str> = messages
        .iter()
        .filter(|message| message.role == ChatRole::System)
        .map(|message| message.text.as_str())
        .collect();
    let turns: Vec<Value> = messages
        .iter()
        .filter(|message| message.role != ChatRole::System)
        .map(|message| {
            let role = if message.role == ChatRole::User {
                "user"
            } else {
                "assistant"
            };
            json!({"role": role, "content": message.text})
        })
        .collect();
    let mut body = json!({
        "model": model,
        "max_tokens": MAX_ANSWER_TOKENS,
        "temperature": 0,
        "system": system.join("\n\n"),
        "messages": turns,
    });
    if let Some(seed) = seed {
        // Anthropic has no seed; the metadata keeps repeats distinct requests.
        body["metadata"] = json!({"user_id": format!("agentpod-repeat-{seed}")});
    }
    body
}

/// The text of an OpenAI chat completion or an Anthropic message.
fn answer_text(answer: &Value) -> Option<String> {
    if let Some(content) = answer.pointer("/choices/0/message/content") {
        return content.as_str().map(str::to_owned);
    }
    let blocks = answer.get("content")?.as_array()?;
    let text: Vec<&str> = blocks
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    (!text.is_empty()).then(|| text.join(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stand_in_rules::{StandInRule, StandInRules};

    #[tokio::test]
    async fn a_session_asks_the_stand_in_and_records_its_calls_apart() {
        let rules = StandInRules {
            rules: vec![StandInRule {
                when: vec!["refund".to_owned()],
                reply: Some("{\"verdict\": \"pass\"}".to_owned()),
                ..StandInRule::default()
            }],
        };
        let client = ModelClient::start(
            LlmConfig::new(Upstream::StandIn(rules)),
            crate::STAND_IN_MODEL.to_owned(),
        )
        .await
        .expect("start");
        let session = client.session("issue-1-judge");
        let messages = [
            ChatMessage::new(ChatRole::System, "you judge"),
            ChatMessage::new(ChatRole::User, "the refund was issued"),
        ];
        let first = session.chat(&messages, Some(1)).await.expect("answer");
        assert_eq!(first, "{\"verdict\": \"pass\"}");
        let other = session
            .chat(&[ChatMessage::new(ChatRole::User, "nothing")], None)
            .await
            .expect("answer");
        assert_ne!(
            other, first,
            "no rule matched: the stand-in's default answer"
        );
        let record = session.take_record();
        assert_eq!(record.issue_id, "issue-1-judge");
        assert_eq!(record.totals.calls, 2);
        assert!(record.calls[0].request.text.contains("\"seed\":1"));
    }
}
