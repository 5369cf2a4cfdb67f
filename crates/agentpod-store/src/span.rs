//! A span as stored: one the agent exported to the trace intake, as plain data — ids in lowercase
//! hex, times in RFC 3339 with nanoseconds, attributes as JSON. The trace intake writes it, the
//! run store keeps it as a step, the trace export reads it back.
//!
//! Every field has a default, so a row written with fewer fields still reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One span an agent exported, as stored with its issue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Span {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    /// RFC 3339, UTC, nanosecond precision.
    pub start: String,
    /// RFC 3339, UTC, nanosecond precision.
    pub end: String,
    pub duration_ms: f64,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub events: Vec<SpanEvent>,
    pub status: SpanStatus,
    pub resource_attributes: serde_json::Map<String, serde_json::Value>,
    /// The instrumentation scope (library) that made the span, when the exporter named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Attributes whose string value was cut to the record cap, with their original size in bytes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub truncated_attributes: BTreeMap<String, usize>,
}

/// Something that happened at one instant during a span (an exception, a log line).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpanEvent {
    pub name: String,
    /// RFC 3339, UTC, nanosecond precision.
    pub time: String,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanStatus {
    pub code: SpanStatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl SpanStatus {
    /// No status set by the exporter.
    pub fn unset() -> SpanStatus {
        SpanStatus::default()
    }
}
