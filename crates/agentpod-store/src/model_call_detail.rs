//! A model call as stored: what the LLM gateway recorded for one call of an issue's agent. The
//! step around it carries the issue, the trial, the start and the latency.
//!
//! Every field has a default, so a row written with fewer fields still reads; rows written before
//! the detail was typed carry a few more (the issue, the start, the tokens repeated at the top),
//! which reading ignores.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelCallDetail {
    /// The provider's API as `provider.wire` (`openai.chat`, `openai.responses`,
    /// `anthropic.messages`), or `unsupported` for a route the gateway does not serve.
    pub api: String,
    /// The model the agent asked for.
    pub model: Option<String>,
    /// The model the upstream said answered (often a dated snapshot); used for pricing.
    pub response_model: Option<String>,
    pub streamed: bool,
    /// Streams only: time until the upstream's first bytes.
    pub time_to_first_byte_ms: Option<f64>,
    /// The HTTP status the agent got.
    pub status: u16,
    pub outcome: ModelCallOutcome,
    pub usage: TokenCounts,
    pub total_tokens: u64,
    /// `None` when the model has no price (see `unknown_model`).
    pub cost_usd: Option<f64>,
    pub unknown_model: bool,
    pub request: RecordedText,
    /// The response body; for streams the reassembled final message, text and tool calls.
    pub response: RecordedText,
    pub error: Option<String>,
    /// Set on budget stops: which budget refused the call (`max_cost_usd`, `max_calls`,
    /// `max_tokens`).
    pub budget: Option<String>,
    /// Time the call waited in line for the run's upstream limits (`model.limits`).
    pub queue_wait_ms: f64,
    /// How many times the gateway sent the call again after a 429 or 5xx (`model.retries`).
    pub retries: u32,
    /// Time spent backing off between those retries.
    pub retry_backoff_ms: f64,
}

impl ModelCallDetail {
    /// The call's time that was the provider's throttling, not the agent's: its wait in line
    /// and its backoff.
    pub fn throttled_ms(&self) -> f64 {
        self.queue_wait_ms + self.retry_backoff_ms
    }
}

/// How a model call ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelCallOutcome {
    /// The upstream answered with success (and, for streams, finished the stream).
    #[default]
    Ok,
    /// The upstream answered with an error status; its body was passed to the agent.
    UpstreamError,
    /// The upstream could not be reached or its answer could not be read.
    UpstreamUnreachable,
    /// The upstream did not answer (or stalled mid-stream) within the request timeout.
    UpstreamTimeout,
    /// The upstream's stream ended before its final event.
    StreamInterrupted,
    /// Refused because a budget was used up.
    BudgetStop,
    /// The request was not valid JSON (or not a JSON object), or its body did not arrive in time.
    BadRequest,
    /// The request body was over the size limit.
    TooLarge,
    /// The request asked for a provider feature the gateway does not allow.
    ProviderFeatureRefused,
    /// Replay mode had no cassette for the request.
    ReplayMiss,
    /// A route or method the gateway does not serve.
    UnknownRoute,
    /// The line for the run's upstream limits was full; the call was refused, not sent.
    QueueFull,
}

impl ModelCallOutcome {
    /// The name as stored (`ok`, `upstream_error`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ModelCallOutcome::Ok => "ok",
            ModelCallOutcome::UpstreamError => "upstream_error",
            ModelCallOutcome::UpstreamUnreachable => "upstream_unreachable",
            ModelCallOutcome::UpstreamTimeout => "upstream_timeout",
            ModelCallOutcome::StreamInterrupted => "stream_interrupted",
            ModelCallOutcome::BudgetStop => "budget_stop",
            ModelCallOutcome::BadRequest => "bad_request",
            ModelCallOutcome::TooLarge => "too_large",
            ModelCallOutcome::ProviderFeatureRefused => "provider_feature_refused",
            ModelCallOutcome::ReplayMiss => "replay_miss",
            ModelCallOutcome::UnknownRoute => "unknown_route",
            ModelCallOutcome::QueueFull => "queue_full",
        }
    }
}

/// Tokens of one call, exactly as the upstream's usage fields gave them (each provider's own
/// meaning of `input_tokens`: OpenAI's includes cached tokens, Anthropic's does not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenCounts {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    /// Anthropic only: tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    pub reasoning_tokens: u64,
}

/// A body as recorded: cut at the gateway's record cap, with its original size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordedText {
    pub text: String,
    pub original_bytes: usize,
    pub truncated: bool,
}
