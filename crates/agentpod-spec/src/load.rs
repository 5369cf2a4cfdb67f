//! The one entry point: read a spec file, parse it, decode and validate it.

use std::path::Path;

use crate::decoder::Decoder;
use crate::node::Position;
use crate::yaml_tree::parse_document;
use crate::{Diagnostic, PodSpec, SpecError};

/// Larger spec files are refused before they are read.
const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// Reads, parses and validates the pod spec at `path`, reporting every problem at once.
///
/// Paths in the spec are resolved against the directory of `path` lexically, so they stay
/// relative when `path` is relative.
///
/// # Errors
///
/// A [`SpecError`] holding every problem found: the file cannot be read, is not valid YAML, or
/// does not describe a valid pod spec.
pub fn load(path: &Path) -> Result<PodSpec, SpecError> {
    let single = |diagnostic: Diagnostic| SpecError {
        diagnostics: vec![diagnostic],
    };
    // A pod spec is a page of configuration; a file many times that is a mistake (a data file
    // given as the spec), and reading it whole would cost time and memory for nothing.
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.len() > MAX_SPEC_BYTES
    {
        return Err(single(Diagnostic::new(
            path,
            0,
            0,
            format!(
                "pod spec is {:.1} MiB; a pod spec is a page of configuration (limit {} KiB) — is this the right file?",
                metadata.len() as f64 / (1024.0 * 1024.0),
                MAX_SPEC_BYTES / 1024
            ),
        )));
    }
    let source = std::fs::read_to_string(path).map_err(|error| {
        single(Diagnostic::new(
            path,
            0,
            0,
            format!("cannot read pod spec: {error}"),
        ))
    })?;
    let root = match parse_document(&source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            let Position { line, column } = Position::START;
            return Err(single(
                Diagnostic::new(path, line, column, "pod spec is empty").with_help(
                    "a pod spec needs at least `name`, `database`, `agent` and `issues`",
                ),
            ));
        }
        Err(error) => {
            return Err(single(
                Diagnostic::new(
                    path,
                    error.position.line,
                    error.position.column,
                    format!("invalid YAML: {}", error.message),
                )
                .with_source_from(&source),
            ));
        }
    };
    let mut decoder = Decoder::new(path, &source);
    let spec = PodSpec::decode(&mut decoder, &root, path);
    match spec {
        Some(spec) if !decoder.has_problems() => Ok(spec),
        _ => {
            let mut diagnostics = decoder.finish();
            if diagnostics.is_empty() {
                // Every decoder reports before giving up; this keeps an error from being empty
                // should one ever forget.
                diagnostics.push(Diagnostic::new(path, 0, 0, "invalid pod spec"));
            }
            Err(SpecError { diagnostics })
        }
    }
}
