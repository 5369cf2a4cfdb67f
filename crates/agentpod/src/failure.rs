//! `Failure`: an error on its way to the user — what to print and which exit code it means.
//! Errors with a place in a file (spec, fixtures, issues) are rendered as diagnostics with the
//! source line and a caret.

use std::error::Error;

use agentpod_db::{BoundaryError, FixtureError};
use agentpod_error_chain::ErrorChain;
use agentpod_issues::IssuesError;
use agentpod_report::inert_text::terminal_block;
use agentpod_spec::Diagnostic;

use crate::exit_code::Exit;

#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// `context: error: cause: cause`, the whole chain on one line.
    pub(crate) fn from_error(exit: Exit, context: &str, error: &(dyn Error + 'static)) -> Self {
        let chain = ErrorChain(error);
        let message = if context.is_empty() {
            chain.to_string()
        } else {
            format!("{context}: {chain}")
        };
        Self { exit, message }
    }

    /// Prints the message to stderr. An error can quote the agent's output or an issue's field,
    /// so control characters and escape sequences are spelled out; the lines of a diagnostic stay.
    pub(crate) fn print(&self) {
        let message = terminal_block(self.message.trim_end());
        if message.starts_with("error") {
            eprintln!("{message}");
        } else {
            eprintln!("error: {message}");
        }
    }
}

/// A fixture error as a diagnostic pointing into the fixture file, when it has a line.
pub(crate) fn fixture_failure(error: &FixtureError) -> Failure {
    let FixtureError::Invalid {
        file,
        line,
        message,
        detail,
        hint,
    } = error
    else {
        return Failure::from_error(Exit::InvalidInput, "cannot seed the pod's database", error);
    };
    let source = std::fs::read_to_string(file).unwrap_or_default();
    let mut diagnostic =
        Diagnostic::new(file.clone(), *line, 1, format!("fixture failed: {message}"))
            .with_source_from(&source);
    let notes: Vec<String> = detail
        .iter()
        .map(|detail| format!("detail: {detail}"))
        .chain(hint.iter().map(|hint| format!("hint: {hint}")))
        .collect();
    if !notes.is_empty() {
        diagnostic.help = Some(notes.join("; "));
    }
    Failure::new(Exit::InvalidInput, diagnostic.render())
}

/// An issues-file error as a diagnostic pointing into the issues file, when it has a line.
pub(crate) fn issues_failure(error: &IssuesError) -> Failure {
    let Some(line) = error.line() else {
        return Failure::from_error(Exit::InvalidInput, "", error);
    };
    let file = error.file();
    let column = error.column().unwrap_or(1);
    let message = error.problem();
    // Lossy: the line of a file that is not UTF-8 is shown too, its bad bytes as U+FFFD.
    let source = std::fs::read(file)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let mut diagnostic = Diagnostic::new(file, line, column, format!("bad issues file: {message}"))
        .with_source_from(&source);
    diagnostic.help = error.help();
    Failure::new(Exit::InvalidInput, diagnostic.render())
}

/// A boundary that does not fit the database, pointing at the rule in the pod spec.
pub(crate) fn boundary_failure(spec_path: &std::path::Path, error: &BoundaryError) -> Failure {
    let (line, column, message, help) = match error {
        BoundaryError::UnknownTable { table, line, column } => (
            *line,
            *column,
            format!("boundary names table `{table}`, which the fixtures do not create"),
            Some("check the spelling, or the schema (`schema.table`)".to_string()),
        ),
        BoundaryError::UnknownColumn { table, column_name, line, column } => (
            *line,
            *column,
            format!("boundary names column `{column_name}` of `{table}`, which has no such column"),
            None,
        ),
        BoundaryError::Unclassified { tables, line, column } => (
            *line,
            *column,
            format!("boundary leaves {} unclassified: {}", if tables.len() == 1 { "a table" } else { "tables" }, tables.join(", ")),
            Some("give each a class (writable, approval, read_only, hidden) under `tables`, or set `default`".to_string()),
        ),
        other => return Failure::from_error(Exit::Setup, "cannot apply the boundary", other),
    };
    let source = std::fs::read_to_string(spec_path).unwrap_or_default();
    let mut diagnostic =
        Diagnostic::new(spec_path, line, column, message).with_source_from(&source);
    diagnostic.help = help;
    Failure::new(Exit::InvalidInput, diagnostic.render())
}
