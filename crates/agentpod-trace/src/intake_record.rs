//! What the intake recorded for one issue: the spans, and one line per export request so a
//! rejected or malformed export is visible after the fact, not only in a log.

use serde::{Deserialize, Serialize};

use crate::span::Span;

/// Everything the intake recorded for one issue, in arrival order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueTraceRecord {
    pub issue_id: String,
    pub spans: Vec<Span>,
    /// One entry per export request that carried this issue's token.
    pub exports: Vec<ExportRecord>,
    /// Spans refused because the issue already held the configured maximum.
    pub dropped_spans: u64,
}

/// One export request as the intake saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// RFC 3339, UTC.
    pub started_at: String,
    pub latency_ms: f64,
    pub encoding: PayloadEncoding,
    pub gzip: bool,
    /// Size of the body as sent (before any gzip decoding).
    pub body_bytes: usize,
    pub spans_accepted: usize,
    pub spans_dropped: usize,
    pub status: u16,
    pub outcome: ExportOutcome,
    /// Why the request was refused; `None` when it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadEncoding {
    Protobuf,
    Json,
    /// A content type the intake does not read.
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportOutcome {
    Accepted,
    /// Accepted in part: some spans were dropped at the per-issue cap.
    Partial,
    Rejected,
}
