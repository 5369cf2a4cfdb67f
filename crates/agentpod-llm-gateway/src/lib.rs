//! The LLM gateway: an OpenAI- and Anthropic-compatible HTTP server that stands between an agent
//! and its model, started per pod. Each issue gets its own token; every call is metered from the
//! upstream's own usage fields, priced, checked against the issue's budget and recorded.
//! Upstreams: a real provider, any OpenAI-compatible server, recorded cassettes, or the offline
//! deterministic stand-in model. The agent is treated as hostile: requests that would make the
//! provider act outside the pod are refused (`provider_policy`), and its connections are bounded
//! by the gateway (`agentpod-gateway-http`, [`ConnectionLimits`]).

mod call_handler;
mod cassette_store;
mod client_request;
mod connection_limits;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod http_upstream;
mod issue_ledger;
mod issue_llm_record;
mod llm_api;
mod llm_budget;
mod llm_call;
mod llm_config;
mod llm_gateway;
mod model_client;
mod price_table;
mod provider_policy;
mod retry_policy;
mod sse_parser;
mod stand_in;
mod stand_in_rules;
mod stand_in_wire;
mod stream_meter;
mod throttled_send;
mod token_usage;
mod upstream_backend;
mod upstream_limits;

/// The kit's shapes, as this gateway's records and accesses carry them.
pub use agentpod_gateway_http::{CappedText, IssueAccess, RECORD_CAP_BYTES};
pub use call_handler::BODY_LIMIT_BYTES;
pub use connection_limits::ConnectionLimits;
pub use error::LlmGatewayError;
pub use issue_llm_record::{IssueLlmRecord, LlmTotals};
pub use llm_api::LlmApi;
pub use llm_budget::{BudgetKind, LlmBudget};
pub use llm_call::{CallOutcome, LlmCall};
pub use llm_config::{LlmConfig, Upstream};
pub use llm_gateway::LlmGateway;
pub use model_client::{ChatMessage, ChatRole, ModelClient, ModelClientError, ModelSession};
pub use price_table::{ModelPrice, PriceTable, STAND_IN_MODEL};
pub use provider_policy::ProviderFeature;
pub use retry_policy::RetryPolicy;
pub use stand_in_rules::{StandInRule, StandInRules};
pub use throttled_send::Throttling;
pub use token_usage::TokenUsage;
pub use upstream_limits::{DEFAULT_MAX_QUEUED_CALLS, UpstreamLimiter, UpstreamLimits};
