//! Traces: the intake that receives an agent's own spans over OTLP/HTTP, one token per issue, and
//! the export of a finished run to any OTLP collector using the OpenTelemetry GenAI semantic
//! conventions.
//!
//! The intake bounds what an agent can make it hold: request bodies before and after gzip
//! decoding, spans and bytes of spans per issue, exports decoded at once, and connections (a
//! header-read timeout and a cap on how many are open).
//!
//! The intake keeps spans as the run store's plain data ([`Span`], which the store owns with the
//! other step details it writes out). Reading the store's records back, this crate builds an
//! issue's timeline ([`issue_timeline`]) and maps a stored run onto [`RunTrace`]
//! ([`stored_run_trace`]) for the export.

// The kit's cap on recorded text, by the path this crate's files name it with.
use agentpod_gateway_http::capped_text;

mod attribute_value;
mod export_report;
mod intake_config;
mod intake_handler;
mod intake_record;
mod intake_request;
mod issue_spans;
mod issue_timeline;
mod otlp_client;
mod otlp_export;
mod otlp_number;
mod run_trace;
mod run_trace_encoder;
mod span_decoder;
mod stored_run;
mod trace_error;
mod trace_intake;

/// The kit's shape of an issue's access: `url` is `http://<addr>/i/<token>`, the OTLP endpoint
/// (SDKs append `/v1/traces` themselves).
pub use agentpod_gateway_http::IssueAccess;
pub use agentpod_store::{Span, SpanEvent, SpanKind, SpanStatus, SpanStatusCode};
pub use export_report::ExportReport;
pub use intake_config::TraceIntakeConfig;
pub use intake_record::{ExportOutcome, ExportRecord, IssueTraceRecord, PayloadEncoding, SpanCap};
pub use issue_timeline::{TimelineEntry, TimelineLayer, issue_timeline};
pub use otlp_export::export_otlp;
pub use run_trace::{IssueTrace, LlmCallTrace, RunTrace, ToolCallTrace};
pub use stored_run::stored_run_trace;
pub use trace_error::TraceError;
pub use trace_intake::TraceIntake;
