//! What the gateway recorded for one issue: plain data for the run store and the trace.

use serde::Serialize;

/// Everything recorded for one issue, in the order the calls started.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IssueToolRecord {
    pub calls: Vec<ToolCall>,
    /// Calls refused because `max_tool_calls` was spent.
    pub limit_stops: u32,
    /// HTTP requests with the issue's token that never became a tool call: malformed JSON-RPC,
    /// oversized bodies; the first `MAX_LISTED_REJECTIONS`.
    pub rejected_requests: Vec<RejectedRequest>,
    /// Rejected requests past those listed: counted, not kept.
    pub unlisted_rejections: u64,
}

/// One `tools/call`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// Order in which calls started within the issue, from 0.
    pub sequence: u32,
    pub issue_id: String,
    pub tool: String,
    /// The arguments as sent; a string holding the cut JSON text when they exceed the cap.
    pub arguments: serde_json::Value,
    pub arguments_bytes: usize,
    /// The result's text as the agent saw it (text blocks joined by newlines, other blocks as
    /// JSON), cut at 64 KiB.
    pub result: String,
    pub result_bytes: usize,
    /// `result` was cut to the record's 64 KiB; `result_bytes` is the size before the cut.
    pub result_truncated: bool,
    /// The tool's result passed the 1 MiB result cap: the agent got what fit and a note saying
    /// `"truncated": true`, and the tool was read no further than the cap.
    pub result_capped: bool,
    pub is_error: bool,
    /// RFC 3339.
    pub started_at: String,
    pub latency_ms: f64,
    pub outcome: ToolCallOutcome,
    /// Why the call failed, for outcomes other than `ok`.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallOutcome {
    Ok,
    /// The tool ran and failed (a refused write, a SQL error, a timeout, a proxied server's error).
    Error,
    /// Refused because the issue's `max_tool_calls` was spent.
    Limit,
    UnknownTool,
}

/// A request refused before it reached a tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedRequest {
    pub started_at: String,
    pub latency_ms: f64,
    /// The HTTP status the client got.
    pub status: u16,
    pub error: String,
    /// The body as received, lossily decoded and cut at 64 KiB.
    pub body: String,
    pub body_bytes: usize,
}
