//! Why seeding failed: a located problem in a fixture file, or the server refusing a setup step.

use std::path::{Path, PathBuf};

/// A failure while seeding a pod's template database.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A problem inside a fixture file, at a line the user can open.
    #[error("{}:{line}: {message}{}", file.display(), notes(detail.as_deref(), hint.as_deref()))]
    Invalid {
        file: PathBuf,
        line: usize,
        message: String,
        detail: Option<String>,
        hint: Option<String>,
    },
    #[error("cannot read fixture file {}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The server refused a step that is not about any one fixture (connecting, the agent role,
    /// the template itself, the grants).
    #[error("cannot {action}")]
    Setup {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl FixtureError {
    pub(crate) fn invalid(file: &Path, line: usize, message: impl Into<String>) -> Self {
        FixtureError::Invalid {
            file: file.to_path_buf(),
            line,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    /// The fixture file at fault, if the failure is about one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            FixtureError::Invalid { file, .. } | FixtureError::Read { file, .. } => Some(file),
            FixtureError::Setup { .. } => None,
        }
    }

    /// The 1-based line in [`FixtureError::file`], if the failure is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            FixtureError::Invalid { line, .. } => Some(*line),
            FixtureError::Read { .. } | FixtureError::Setup { .. } => None,
        }
    }
}

fn notes(detail: Option<&str>, hint: Option<&str>) -> String {
    let mut notes = String::new();
    if let Some(detail) = detail {
        notes.push_str("\ndetail: ");
        notes.push_str(detail);
    }
    if let Some(hint) = hint {
        notes.push_str("\nhint: ");
        notes.push_str(hint);
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_renders_file_line_message_and_notes() {
        let error = FixtureError::Invalid {
            file: PathBuf::from("fixtures/bad.sql"),
            line: 12,
            message: "syntax error at or near \"SELEC\"".to_owned(),
            detail: Some("more".to_owned()),
            hint: None,
        };
        assert_eq!(
            error.to_string(),
            "fixtures/bad.sql:12: syntax error at or near \"SELEC\"\ndetail: more"
        );
        assert_eq!(error.line(), Some(12));
    }
}
