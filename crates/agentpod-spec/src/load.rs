//! The one entry point: read a spec file, parse it, decode and validate it.

use std::borrow::Cow;
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
    load_source(path, &source)
}

/// Parses and validates `source`, the text of the spec at `path` (paths in it resolve against
/// the directory of `path`); [`load`] without the reading, so the fuzz targets can reach it.
pub(crate) fn load_source(path: &Path, source: &str) -> Result<PodSpec, SpecError> {
    decode_file(
        path,
        source,
        "pod spec",
        "a pod spec needs at least `name`, `database`, `agent` and `issues`",
        |decoder, root| PodSpec::decode(decoder, root, path),
    )
}

/// The one YAML front end: parses `source` (the text of the `what` at `path`) into positioned
/// nodes and decodes it with `decode`, reporting every problem at once as the spec's are.
/// `empty_help` says what an empty file needs.
pub(crate) fn decode_file<T>(
    path: &Path,
    source: &str,
    what: &str,
    empty_help: &str,
    decode: impl FnOnce(&mut Decoder<'_>, &crate::node::Node) -> Option<T>,
) -> Result<T, SpecError> {
    let single = |diagnostic: Diagnostic| SpecError {
        diagnostics: vec![diagnostic],
    };
    // YAML ends a line at a lone carriage return too, and counts its positions so; the text the
    // diagnostics quote must split into the same lines (`str::lines` splits only at `\n`).
    let source = &*newlines_only(source);
    let root = match parse_document(source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            let Position { line, column, .. } = Position::START;
            return Err(single(
                Diagnostic::new(path, line, column, format!("{what} is empty"))
                    .with_help(empty_help),
            ));
        }
        Err(error) => {
            return Err(single(
                Diagnostic::new(
                    path,
                    error.position.line,
                    on_the_line(source, error.position),
                    format!("invalid YAML: {}", error.message),
                )
                .with_source_from(source),
            ));
        }
    };
    let mut decoder = Decoder::new(path, source);
    let decoded = decode(&mut decoder, &root);
    match decoded {
        Some(decoded) if !decoder.has_problems() => Ok(decoded),
        _ => {
            let mut diagnostics = decoder.finish();
            if diagnostics.is_empty() {
                // Every decoder reports before giving up; this keeps an error from being empty
                // should one ever forget.
                diagnostics.push(Diagnostic::new(path, 0, 0, format!("invalid {what}")));
            }
            Err(SpecError { diagnostics })
        }
    }
}

/// The column of `position`, kept on its line: saphyr-parser 0.3 counts the bytes of a directive
/// name as characters (found by the `pod_spec` fuzz target), so an error on a `%` line with
/// non-ASCII text can lie past the line's end.
fn on_the_line(source: &str, position: Position) -> usize {
    let width = source
        .lines()
        .nth(position.line.saturating_sub(1))
        .map_or(0, |line| line.chars().count());
    position.column.min(width + 1)
}

/// `source` with every line break (`\r\n`, `\r`) written as `\n`.
pub(crate) fn newlines_only(source: &str) -> Cow<'_, str> {
    if source.contains('\r') {
        Cow::Owned(source.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `pod_spec` fuzz target: after a lone carriage return, diagnostics named a line
    /// the quoted text did not have.
    #[test]
    fn a_lone_carriage_return_ends_a_line_for_positions_and_quoted_text() {
        let error = load_source(Path::new("pod.yaml"), "name: demo\rnmae: x\n").unwrap_err();
        let diagnostic = error
            .diagnostics
            .iter()
            .find(|diagnostic| diagnostic.message.contains("nmae"))
            .expect("the unknown key is reported");
        assert_eq!((diagnostic.line, diagnostic.column), (2, 1));
        assert_eq!(diagnostic.source_line.as_deref(), Some("nmae: x"));
    }

    /// Found by the `pod_spec` fuzz target: the parser placed this error at column 6 of a line
    /// of four characters.
    #[test]
    fn a_syntax_error_on_a_directive_with_non_ascii_text_stays_on_its_line() {
        let error = load_source(Path::new("pod.yaml"), "%ܞΑ\0").unwrap_err();
        let diagnostic = &error.diagnostics[0];
        assert!(
            diagnostic.message.starts_with("invalid YAML"),
            "{diagnostic:?}"
        );
        assert_eq!((diagnostic.line, diagnostic.column), (1, 5));
    }
}
