//! What can go wrong adding an issue to an evaluation set.

use std::path::PathBuf;

use agentpod_issues::IssuesError;

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// The set's file is CSV; promoted issues carry nested provenance and are written as JSON
    /// lines only.
    #[error(
        "{} is a CSV issues file; promote writes JSON lines only (nested provenance does not fit \
         a CSV cell): convert the set to JSON lines, or promote --to a .jsonl file",
        file.display()
    )]
    CsvTarget { file: PathBuf },
    #[error("{} is not an issues file (.jsonl)", file.display())]
    UnsupportedTarget { file: PathBuf },
    /// The set's ids are row numbers (`issues.id: row`); an appended issue would get one that
    /// names nothing the candidate was.
    #[error("the set's ids are row numbers (`issues.id: row`); promote needs an id column or key")]
    RowIds,
    #[error("cannot read the evaluation set")]
    Read(#[source] IssuesError),
    /// The same agent-visible fields with the same answer are already in the set.
    #[error("issue `{existing}` of {} already has these fields and this answer; nothing added", file.display())]
    Duplicate { existing: String, file: PathBuf },
    /// The same agent-visible fields with another answer: keep one, or replace it.
    #[error(
        "issue `{existing}` of {} has these fields with another answer ({existing_expected}); \
         nothing added (--replace gives it the new answer)",
        file.display()
    )]
    ConflictingAnswer {
        existing: String,
        existing_expected: String,
        file: PathBuf,
    },
    #[error("cannot write {}", file.display())]
    Write {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The trace file cannot be read as an OTLP/JSON export of one agent session.
    #[error("bad trace: {problem}")]
    Trace { problem: String },
}
