//! Why an issues file could not be loaded, always pointing at the file and, where there is one, the line.

use std::path::PathBuf;

/// A problem with an issues file. Every variant names the file; those about content name the line.
#[derive(Debug, thiserror::Error)]
pub enum IssuesError {
    #[error("cannot read issues file {}: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: unsupported issues file extension; expected `.jsonl` or `.csv`", file.display())]
    UnsupportedFormat { file: PathBuf },
    #[error("{}: issues file holds no issues", file.display())]
    Empty { file: PathBuf },
    #[error("{}:{line}:{column}: {message}", file.display())]
    MalformedJson {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}:{line}: issue must be a JSON object, found {found}", file.display())]
    NotAnObject {
        file: PathBuf,
        line: usize,
        found: &'static str,
    },
    #[error("{}:{line}: issue has no `id`", file.display())]
    MissingId { file: PathBuf, line: usize },
    #[error("{}:{line}: `id` must be a non-empty string or an integer, found {found}", file.display())]
    InvalidId {
        file: PathBuf,
        line: usize,
        found: String,
    },
    #[error("{}:{line}: duplicate id `{id}`, first used on line {first_line}", file.display())]
    DuplicateId {
        file: PathBuf,
        line: usize,
        id: String,
        first_line: usize,
    },
    #[error("{}:{line}: `expected` must be a JSON object, found {found}", file.display())]
    InvalidExpected {
        file: PathBuf,
        line: usize,
        found: &'static str,
    },
    #[error("{}:1: CSV header has no `id` column", file.display())]
    MissingIdColumn { file: PathBuf },
    #[error("{}:1: CSV header names column `{column}` twice", file.display())]
    DuplicateColumn { file: PathBuf, column: String },
    #[error("{}:{line}: row has {found} values but the header has {expected} columns", file.display())]
    RaggedRow {
        file: PathBuf,
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("{}:{line}: {message}", file.display())]
    Csv {
        file: PathBuf,
        line: usize,
        message: String,
    },
}

impl IssuesError {
    /// The issues file the problem is in.
    pub fn file(&self) -> &std::path::Path {
        match self {
            Self::Read { file, .. }
            | Self::UnsupportedFormat { file }
            | Self::Empty { file }
            | Self::MalformedJson { file, .. }
            | Self::NotAnObject { file, .. }
            | Self::MissingId { file, .. }
            | Self::InvalidId { file, .. }
            | Self::DuplicateId { file, .. }
            | Self::InvalidExpected { file, .. }
            | Self::MissingIdColumn { file }
            | Self::DuplicateColumn { file, .. }
            | Self::RaggedRow { file, .. }
            | Self::Csv { file, .. } => file,
        }
    }

    /// The 1-based line the problem is on, when it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Read { .. } | Self::UnsupportedFormat { .. } | Self::Empty { .. } => None,
            Self::MissingIdColumn { .. } | Self::DuplicateColumn { .. } => Some(1),
            Self::MalformedJson { line, .. }
            | Self::NotAnObject { line, .. }
            | Self::MissingId { line, .. }
            | Self::InvalidId { line, .. }
            | Self::DuplicateId { line, .. }
            | Self::InvalidExpected { line, .. }
            | Self::RaggedRow { line, .. }
            | Self::Csv { line, .. } => Some(*line),
        }
    }

    /// The 1-based column, when the parser gave one.
    pub fn column(&self) -> Option<usize> {
        match self {
            Self::MalformedJson { column, .. } => Some(*column),
            _ => None,
        }
    }
}
