//! A span as the intake stores it: plain data, ids in lowercase hex, times in RFC 3339 with
//! nanoseconds, attributes as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One span an agent exported, as stored with its issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub name: String,
    /// RFC 3339, UTC, nanosecond precision.
    pub time: String,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanStatus {
    pub code: SpanStatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatusCode {
    Unset,
    Ok,
    Error,
}

impl SpanKind {
    pub(crate) fn from_otlp(kind: i32) -> SpanKind {
        match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    pub(crate) fn to_otlp(self) -> i32 {
        match self {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }
}

impl SpanStatusCode {
    pub(crate) fn from_otlp(code: i32) -> SpanStatusCode {
        match code {
            1 => SpanStatusCode::Ok,
            2 => SpanStatusCode::Error,
            _ => SpanStatusCode::Unset,
        }
    }

    pub(crate) fn to_otlp(self) -> i32 {
        match self {
            SpanStatusCode::Unset => 0,
            SpanStatusCode::Ok => 1,
            SpanStatusCode::Error => 2,
        }
    }
}

impl SpanStatus {
    pub(crate) fn unset() -> SpanStatus {
        SpanStatus {
            code: SpanStatusCode::Unset,
            message: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_status_codes_round_trip_through_their_otlp_numbers() {
        for number in 0..=5 {
            assert_eq!(SpanKind::from_otlp(number).to_otlp(), number);
        }
        for number in 0..=2 {
            assert_eq!(SpanStatusCode::from_otlp(number).to_otlp(), number);
        }
        assert_eq!(SpanKind::from_otlp(42), SpanKind::Unspecified);
        assert_eq!(SpanStatusCode::from_otlp(-1), SpanStatusCode::Unset);
    }
}
