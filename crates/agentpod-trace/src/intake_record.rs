//! What the intake recorded for one issue: the spans, and one line per export request so a
//! rejected or malformed export is visible after the fact, not only in a log.

use serde::{Deserialize, Serialize};

use agentpod_store::Span;

/// Everything the intake recorded for one issue, in arrival order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueTraceRecord {
    pub issue_id: String,
    pub spans: Vec<Span>,
    /// One entry per export request that carried this issue's token.
    pub exports: Vec<ExportRecord>,
    /// Spans refused at a per-issue cap (see `cap_reached`); exports refused whole once the cap
    /// was reached are not decoded, so their spans are not counted here.
    pub dropped_spans: u64,
    /// Bytes of the kept spans, each counted as its stored JSON.
    #[serde(default)]
    pub span_bytes: u64,
    /// Which cap stopped the issue's spans, once one did; every later export was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_reached: Option<SpanCap>,
    /// Export requests past the most the record lists; counted, not listed.
    #[serde(default)]
    pub unlisted_exports: u64,
}

/// The per-issue cap an issue's spans reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanCap {
    /// `max_spans_per_issue` spans.
    Spans,
    /// `max_span_bytes_per_issue` bytes of spans.
    Bytes,
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
    /// Accepted in part: some spans were dropped at a per-issue cap.
    Partial,
    Rejected,
}
