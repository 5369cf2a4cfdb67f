//! Why an export could not be imported: always the file, and the line where there is one.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the export {}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}:{line}:{column}: the export is not UTF-8 (byte 0x{byte:02X}); if it is Latin-1 or \
         Windows-1252, convert it first: `iconv -f latin1 -t utf-8 {} > export.utf8`",
        file.display(),
        file.display()
    )]
    NotUtf8 {
        file: PathBuf,
        line: usize,
        column: usize,
        byte: u8,
    },
    #[error("{}:{line}:{column}: malformed JSON: {message}", file.display())]
    MalformedJson {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", file.display())]
    UnexpectedShape { file: PathBuf, message: String },
    #[error("{}: record {record} of the export has no usable `{field}`", file.display())]
    MissingField {
        file: PathBuf,
        /// 1-based position among the export's records.
        record: usize,
        field: &'static str,
    },
    #[error(
        "{}:1: the CSV header has no `{column}` column{}; the header has {}",
        file.display(),
        suggestion.as_ref().map(|name| format!(" (did you mean `{name}`?)")).unwrap_or_default(),
        available.join(", ")
    )]
    MissingColumn {
        file: PathBuf,
        column: &'static str,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    #[error("{}:{line}: {message}", file.display())]
    Csv {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}:{line}: the row's `{column}` is empty; every issue needs one", file.display())]
    EmptyKey {
        file: PathBuf,
        line: usize,
        column: &'static str,
    },
    #[error(
        "{tracker} issues have no field `{field}` to take the answer from{}; their fields are {}",
        suggestion.map(|name| format!(" (did you mean `{name}`?)")).unwrap_or_default(),
        available.join(", ")
    )]
    UnknownAnswerField {
        tracker: &'static str,
        field: String,
        suggestion: Option<&'static str>,
        available: Vec<&'static str>,
    },
}
