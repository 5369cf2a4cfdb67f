//! Why an issues file could not be loaded, always pointing at the file and, where there is one, the line.

use std::path::PathBuf;

/// A problem with an issues file. Every variant names the file; those about content name the line.
#[derive(Debug)]
pub enum IssuesError {
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    UnsupportedFormat {
        file: PathBuf,
    },
    Empty {
        file: PathBuf,
    },
    MalformedJson {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    NotAnObject {
        file: PathBuf,
        line: usize,
        found: &'static str,
    },
    MissingId {
        file: PathBuf,
        line: usize,
    },
    InvalidId {
        file: PathBuf,
        line: usize,
        found: String,
    },
    DuplicateId {
        file: PathBuf,
        line: usize,
        id: String,
        first_line: usize,
    },
    InvalidExpected {
        file: PathBuf,
        line: usize,
        found: &'static str,
    },
    MissingIdColumn {
        file: PathBuf,
    },
    DuplicateColumn {
        file: PathBuf,
        column: String,
    },
    RaggedRow {
        file: PathBuf,
        line: usize,
        expected: usize,
        found: usize,
    },
    Csv {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// The spec's mapping names a column (CSV header) or key (JSON lines: in no record) the file
    /// does not have.
    UnknownColumn {
        file: PathBuf,
        line: usize,
        name: String,
        /// The spec key that names it: `issues.id`, `issues.expected` or `issues.fields`.
        key: &'static str,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    /// Bytes that are not UTF-8: most often a Latin-1 or Windows-1252 export.
    NotUtf8 {
        file: PathBuf,
        line: usize,
        /// 1-based column (in characters) of the first bad byte on its line.
        column: usize,
        byte: u8,
    },
}

impl IssuesError {
    /// What is wrong, without where: the diagnostic a user sees shows the file and line itself.
    pub fn problem(&self) -> String {
        match self {
            Self::Read { .. } => "cannot read the issues file".to_string(),
            Self::UnsupportedFormat { .. } => {
                "unsupported issues file extension; expected `.jsonl` or `.csv`".to_string()
            }
            Self::Empty { .. } => "issues file holds no issues".to_string(),
            Self::MalformedJson { message, .. } | Self::Csv { message, .. } => message.clone(),
            Self::NotAnObject { found, .. } => {
                format!("issue must be a JSON object, found {found}")
            }
            Self::MissingId { .. } => "issue has no `id`".to_string(),
            Self::InvalidId { found, .. } => {
                format!("`id` must be a non-empty string or an integer, found {found}")
            }
            Self::DuplicateId { id, first_line, .. } => {
                format!("duplicate id `{id}`, first used on line {first_line}")
            }
            Self::InvalidExpected { found, .. } => {
                format!("`expected` must be a JSON object, found {found}")
            }
            Self::MissingIdColumn { .. } => "CSV header has no `id` column".to_string(),
            Self::DuplicateColumn { column, .. } => {
                format!("CSV header names column `{column}` twice")
            }
            Self::RaggedRow {
                expected, found, ..
            } => format!("row has {found} values but the header has {expected} columns"),
            Self::UnknownColumn { name, key, .. } => match self.is_csv() {
                true => {
                    format!("`{key}` names column `{name}`, which the CSV header does not have")
                }
                false => format!("`{key}` names field `{name}`, which no issue has"),
            },
            Self::NotUtf8 { byte, .. } => {
                format!("the issues file is not UTF-8 (byte 0x{byte:02X} here)")
            }
        }
    }

    /// What to do about it, when there is something to say.
    pub fn help(&self) -> Option<String> {
        match self {
            Self::MissingIdColumn { .. } => Some(
                "name the id column in the spec (`issues.id: COLUMN`), or number the rows \
                 (`issues.id: row`)"
                    .to_owned(),
            ),
            Self::MissingId { .. } => Some(
                "every issue needs an id; name another column or key with `issues.id`, or number \
                 the rows with `issues.id: row`"
                    .to_owned(),
            ),
            Self::UnknownColumn {
                suggestion,
                available,
                ..
            } => {
                let listed = available
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(match suggestion {
                    Some(suggestion) => {
                        format!("did you mean `{suggestion}`? the file has {listed}")
                    }
                    None => format!("the file has {listed}"),
                })
            }
            Self::DuplicateColumn { column, .. } => Some(format!(
                "list the columns the agent gets with `issues.fields`, leaving `{column}` out"
            )),
            Self::NotUtf8 { file, .. } => Some(format!(
                "issues files are read as UTF-8; if it is Latin-1 (or Windows-1252), convert it: \
                 `iconv -f latin1 -t utf-8 {} > issues.utf8.{}`",
                file.display(),
                file.extension()
                    .and_then(|extension| extension.to_str())
                    .unwrap_or("csv")
            )),
            _ => None,
        }
    }

    fn is_csv(&self) -> bool {
        self.file()
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"))
    }

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
            | Self::Csv { file, .. }
            | Self::UnknownColumn { file, .. }
            | Self::NotUtf8 { file, .. } => file,
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
            | Self::Csv { line, .. }
            | Self::UnknownColumn { line, .. }
            | Self::NotUtf8 { line, .. } => Some(*line),
        }
    }

    /// The 1-based column, when the parser gave one.
    pub fn column(&self) -> Option<usize> {
        match self {
            Self::MalformedJson { column, .. } | Self::NotUtf8 { column, .. } => Some(*column),
            _ => None,
        }
    }
}

/// `file:line[:column]: problem`; the cause of a read error is its `source`, not repeated here.
impl std::fmt::Display for IssuesError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.file().display();
        match (self.line(), self.column()) {
            (Some(line), Some(column)) => {
                write!(formatter, "{file}:{line}:{column}: {}", self.problem())
            }
            (Some(line), None) => write!(formatter, "{file}:{line}: {}", self.problem()),
            (None, _) => match self {
                Self::Read { .. } => write!(formatter, "cannot read issues file {file}"),
                _ => write!(formatter, "{file}: {}", self.problem()),
            },
        }
    }
}

impl std::error::Error for IssuesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}
