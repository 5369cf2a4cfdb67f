//! Limits of the trace intake.

use std::time::Duration;

/// Limits that keep one agent from exhausting the intake or the run store.
#[derive(Debug, Clone)]
pub struct TraceIntakeConfig {
    /// Largest accepted request body, before and after gzip decoding; larger ones get 413.
    pub max_body_bytes: usize,
    /// How long a client may take to send its body; slower ones get 408.
    pub body_timeout: Duration,
    /// Spans kept per issue; the rest are counted as dropped and reported as a partial success.
    pub max_spans_per_issue: usize,
    /// String attribute values longer than this are cut (the original size is kept).
    pub max_attribute_bytes: usize,
}

impl Default for TraceIntakeConfig {
    fn default() -> Self {
        TraceIntakeConfig {
            max_body_bytes: 8 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            max_spans_per_issue: 10_000,
            max_attribute_bytes: crate::capped_text::RECORD_CAP_BYTES,
        }
    }
}
