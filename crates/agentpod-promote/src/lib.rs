//! Production failures into evaluation cases: a candidate issue (from a stored run's issue with
//! a corrected answer, or from an OTLP/JSON trace of one agent session) added to an evaluation
//! set's JSON lines issues file, with provenance, a fresh id, duplicate detection and an atomic
//! write; and the rows an OTLP/JSON trace recorded, as a fixture delta.

mod candidate;
mod evaluation_set_file;
mod fixture_delta;
mod otlp_json;
mod promote_error;
mod trace_session;

pub use candidate::Candidate;
pub use evaluation_set_file::{Added, SetTarget, add_to_set, add_to_set_with};
pub use fixture_delta::{TableRow, fixture_delta_sql};
pub use otlp_json::{TraceSpan, read_spans};
pub use promote_error::PromoteError;
pub use trace_session::{TraceSession, read_session};

/// Writes `text` to `file` through a temporary file renamed over it.
pub fn write_file_atomically(file: &std::path::Path, text: &str) -> Result<(), PromoteError> {
    evaluation_set_file::write_atomically(file, text)
}
