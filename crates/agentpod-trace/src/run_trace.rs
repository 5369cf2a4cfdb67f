//! A finished run as plain data, ready for export (`stored_run` maps the run store's records
//! onto these types).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use agentpod_store::Span;

/// One run: an agent version against a sample of issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTrace {
    pub run_id: String,
    /// The pod spec's name; it names the agent in the exported traces.
    pub spec: String,
    pub agent_version: String,
    pub issues: Vec<IssueTrace>,
}

/// One issue of the run, with everything the gateways recorded for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueTrace {
    pub issue_id: String,
    /// Which trial of the issue (`--trials K`); 1 for a plain run.
    #[serde(default = "first_trial")]
    pub trial: u32,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// The grader's word or how the issue ended (`passed`, `failed`, `timeout`, ...).
    pub outcome: String,
    /// Why the issue ended in error, when it did; the root span's status becomes an error.
    pub error: Option<String>,
    pub llm_calls: Vec<LlmCallTrace>,
    pub tool_calls: Vec<ToolCallTrace>,
    /// The agent's own spans as the trace intake stored them.
    pub agent_spans: Vec<Span>,
}

/// One model call through the LLM gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmCallTrace {
    pub started_at: DateTime<Utc>,
    pub latency_ms: f64,
    /// The provider as the GenAI conventions name it: `openai`, `anthropic`, or another name for
    /// a compatible server or the stand-in.
    pub provider: String,
    /// The wire API used: `chat.completions`, `responses`, `messages`.
    pub api: String,
    /// The model the agent asked for.
    pub model: String,
    /// The model that answered, when the upstream said.
    pub response_model: Option<String>,
    pub response_id: Option<String>,
    pub finish_reasons: Vec<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_tokens: u64,
    /// `None` when the model has no price (unknown model).
    pub cost_usd: Option<f64>,
    pub streamed: bool,
    /// The request body as recorded (possibly cut).
    pub request: Option<String>,
    /// The response body as recorded (possibly cut).
    pub response: Option<String>,
    /// `ok`, `upstream_error`, `budget_exceeded`, ...
    pub outcome: String,
    pub error: Option<String>,
}

/// One tool call through the tool gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallTrace {
    pub started_at: DateTime<Utc>,
    pub latency_ms: f64,
    pub tool: String,
    /// The MCP server that served the tool, for proxied tools.
    pub server: Option<String>,
    pub call_id: Option<String>,
    /// The arguments as JSON text.
    pub arguments: String,
    /// The result as recorded (possibly cut).
    pub result: Option<String>,
    /// `ok`, `error`, `denied`, `limit_exceeded`, ...
    pub outcome: String,
    pub error: Option<String>,
    /// The AI-writable boundary's decision for a database write, when there was one.
    pub boundary_decision: Option<String>,
}

fn first_trial() -> u32 {
    1
}
