//! What the gateway records for one model call.

use agentpod_gateway_http::CappedText;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::llm_api::LlmApi;
use crate::token_usage::TokenUsage;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// The upstream answered with success (and, for streams, finished the stream).
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
    /// The request was not valid JSON (or not a JSON object), repeated a field the gateway or its
    /// provider policy reads, or its body did not arrive in time.
    BadRequest,
    /// The request body was over the size limit.
    TooLarge,
    /// The request asked the provider to fetch, run a tool, change the billing tier or keep
    /// state on the account, and the gateway does not allow that feature (see `ProviderFeature`).
    ProviderFeatureRefused,
    /// Replay mode had no cassette for the request.
    ReplayMiss,
    /// A route or method the gateway does not serve.
    UnknownRoute,
    /// The line for the run's upstream limits was full; the call was refused, not sent.
    QueueFull,
}

/// One model call, attributed to its issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmCall {
    pub issue_id: String,
    pub api: LlmApi,
    /// The model the agent asked for.
    pub model: Option<String>,
    /// The model the upstream said answered (often a dated snapshot); used for pricing.
    pub response_model: Option<String>,
    pub streamed: bool,
    pub started_at: DateTime<Utc>,
    pub latency_ms: f64,
    /// Streams only: time until the upstream's first bytes.
    pub time_to_first_byte_ms: Option<f64>,
    /// The HTTP status the agent got.
    pub status: u16,
    pub outcome: CallOutcome,
    pub usage: TokenUsage,
    pub total_tokens: u64,
    /// `None` when the model has no price (see `unknown_model`).
    pub cost_usd: Option<f64>,
    pub unknown_model: bool,
    pub request: CappedText,
    /// The response body; for streams the reassembled final message, text and tool calls.
    pub response: CappedText,
    pub error: Option<String>,
    /// Set on budget stops: which budget refused the call.
    pub budget: Option<crate::llm_budget::BudgetKind>,
    /// Time waiting for the run's upstream limits and retries of throttled answers; part of
    /// `latency_ms`, and the provider's time, not the agent's.
    pub throttling: crate::throttled_send::Throttling,
}
