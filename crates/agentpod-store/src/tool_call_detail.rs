//! A tool call as stored: what the tool gateway recorded for one `tools/call` of an issue's
//! agent. The step around it carries the issue, the trial, the start and the latency.
//!
//! Every field has a default, so a row written with fewer fields still reads; rows written before
//! the detail was typed carry the issue and the start as well, which reading ignores.

use serde::{Deserialize, Serialize};

/// The tool through which an agent talks to its issue's simulated customer, as calls of it are
/// stored (the tool gateway's `send_message_to_customer`): readers show its calls as the
/// conversation.
pub const CUSTOMER_TOOL: &str = "send_message_to_customer";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolCallDetail {
    /// Order in which calls started within the issue, from 0.
    pub sequence: u32,
    pub tool: String,
    /// The arguments as sent (any JSON); a string holding the cut JSON text when they exceeded
    /// the record cap.
    pub arguments: serde_json::Value,
    pub arguments_bytes: usize,
    /// The result's text as the agent saw it, cut at the record cap.
    pub result: String,
    pub result_bytes: usize,
    /// `result` was cut to the record cap; `result_bytes` is the size before the cut.
    pub result_truncated: bool,
    /// The tool's result passed the result cap: the agent got what fit.
    pub result_capped: bool,
    pub is_error: bool,
    pub outcome: ToolCallOutcome,
    /// Why the call failed, for outcomes other than `ok`.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallOutcome {
    #[default]
    Ok,
    /// The tool ran and failed (a refused write, a SQL error, a timeout, a proxied server's error).
    Error,
    /// Refused because the issue's `max_tool_calls` was spent.
    Limit,
    UnknownTool,
}

impl ToolCallOutcome {
    /// The name as stored (`ok`, `error`, `limit`, `unknown_tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            ToolCallOutcome::Ok => "ok",
            ToolCallOutcome::Error => "error",
            ToolCallOutcome::Limit => "limit",
            ToolCallOutcome::UnknownTool => "unknown_tool",
        }
    }
}
