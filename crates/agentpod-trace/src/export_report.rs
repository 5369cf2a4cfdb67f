//! What an OTLP export sent.

use serde::Serialize;

/// Counts of what [`crate::export_otlp`] delivered; the collector accepted all of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    /// The full URL the traces went to (`<endpoint>/v1/traces`).
    pub url: String,
    /// One trace per issue.
    pub traces: usize,
    pub spans: usize,
    /// Spans the collector reported as rejected in a partial success.
    pub rejected_spans: u64,
}
