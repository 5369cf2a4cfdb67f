//! Issues: load an issues file (JSON lines or CSV) and draw a seeded, optionally stratified sample;
//! an evaluation set's digest, and the differences between two versions of one.

mod csv_issues;
#[doc(hidden)]
pub mod fuzzing;
mod issue;
mod issue_mapping;
mod issues_diff;
mod issues_digest;
mod issues_error;
mod jsonl_issues;
mod load;
mod sample;
mod sample_error;

pub use issue::{
    CUSTOMER_FIELD, EXPECTED_OUTPUTS_FIELD, EXPECTED_TOOL_CALLS_FIELD, GOLD_ACTIONS_FIELD, Issue,
    JUDGE_RUBRIC_FIELD, PROVENANCE_FIELD, is_kept_from_agent,
};
pub use issue_mapping::{DEFAULT_ID_FIELD, IdSource, IssueMapping};
pub use issues_diff::{ChangedIssue, IssuesDiff, diff_issues};
pub use issues_digest::issues_digest;
pub use issues_error::IssuesError;
pub use load::{load, load_mapped};
pub use sample::sample;
pub use sample_error::SampleError;
