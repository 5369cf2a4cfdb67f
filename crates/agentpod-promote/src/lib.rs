//! Production failures into evaluation cases: a candidate issue (from a stored run's issue with
//! a corrected answer, or from an OTLP/JSON trace of one agent session) added to an evaluation
//! set's JSON lines issues file, with provenance, a fresh id, duplicate detection and an atomic
//! write.

mod candidate;
mod evaluation_set_file;
mod promote_error;

pub use candidate::Candidate;
pub use evaluation_set_file::{Added, SetTarget, add_to_set};
pub use promote_error::PromoteError;
