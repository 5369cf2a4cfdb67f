//! Limits of the trace intake, and the sizes they default to.

use std::time::Duration;

/// Largest export body, as sent and again after gzip decoding. 4 MiB: an SDK's batch (512 spans
/// by default) of ordinary spans is a few hundred KiB, and half the issue's span budget still
/// takes two exports to spend, so one request can never take the whole of it.
pub(crate) const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long a client may take to send its body. 30 s: the largest body crosses loopback or the
/// pod bridge in milliseconds; only a client stalling on purpose comes near it.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Spans kept per issue. 10 000: an agent's reasoning for one issue is tens to hundreds of
/// spans; more is a loop or a flood.
pub(crate) const MAX_SPANS_PER_ISSUE: usize = 10_000;

/// Bytes of spans kept per issue, measured as the run store writes them (each span's JSON). 8 MiB:
/// thousands of ordinary spans of a few hundred bytes to a few KiB, far more than one issue's
/// reasoning needs, while a flooding agent adds at most this to the store per issue instead of
/// the hundreds of MiB it could before.
pub(crate) const MAX_SPAN_BYTES_PER_ISSUE: usize = 8 * 1024 * 1024;

/// Limits that keep one agent from exhausting the intake or the run store.
#[derive(Debug, Clone)]
pub struct TraceIntakeConfig {
    /// Largest accepted request body, before and after gzip decoding; larger ones get 413.
    pub max_body_bytes: usize,
    /// How long a client may take to send its body; slower ones get 408.
    pub body_timeout: Duration,
    /// Spans kept per issue; the rest are counted as dropped and reported as a partial success.
    pub max_spans_per_issue: usize,
    /// Bytes of spans kept per issue, each span counted as its stored JSON. The export that
    /// reaches it is a partial success; every later export of the issue gets 413.
    pub max_span_bytes_per_issue: usize,
    /// String attribute values longer than this are cut (the original size is kept).
    pub max_attribute_bytes: usize,
}

impl Default for TraceIntakeConfig {
    fn default() -> Self {
        TraceIntakeConfig {
            max_body_bytes: MAX_BODY_BYTES,
            body_timeout: BODY_TIMEOUT,
            max_spans_per_issue: MAX_SPANS_PER_ISSUE,
            max_span_bytes_per_issue: MAX_SPAN_BYTES_PER_ISSUE,
            max_attribute_bytes: crate::capped_text::RECORD_CAP_BYTES,
        }
    }
}
