//! Reading an issues file: picks the format by extension, decodes the text (UTF-8, with the
//! line of the first bad byte when it is not), applies the mapping and enforces what both
//! formats share (a usable, unique id per issue).

use std::collections::HashMap;
use std::path::Path;

use crate::{Issue, IssueMapping, IssuesError, csv_issues, jsonl_issues};

/// A reader of one format: the file's text, under a mapping, into issues in file order.
pub(crate) type Parse = fn(&Path, &str, &IssueMapping) -> Result<Vec<Issue>, IssuesError>;

/// Loads every issue in a `.jsonl` or `.csv` file, in file order, by the files' own convention
/// (an `id` column or key, `expected.<field>` columns or an `expected` object).
pub fn load(path: &Path) -> Result<Vec<Issue>, IssuesError> {
    load_mapped(path, &IssueMapping::default())
}

/// [`load`] with the columns or keys mapped to the id, the expected outcome and the agent's fields.
pub fn load_mapped(path: &Path, mapping: &IssueMapping) -> Result<Vec<Issue>, IssuesError> {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    let parse: Parse = match extension.as_deref() {
        Some("jsonl") => jsonl_issues::parse,
        Some("csv") => csv_issues::parse,
        _ => {
            return Err(IssuesError::UnsupportedFormat {
                file: path.to_path_buf(),
            });
        }
    };
    let bytes = std::fs::read(path).map_err(|source| IssuesError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let text = decode_utf8(path, bytes)?;
    load_text(path, &text, parse, mapping)
}

/// [`load_mapped`] without the reading: parses `text` with `parse` and checks what both
/// formats share.
pub(crate) fn load_text(
    path: &Path,
    text: &str,
    parse: Parse,
    mapping: &IssueMapping,
) -> Result<Vec<Issue>, IssuesError> {
    // A byte order mark is an editor's, not the first column's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let issues = parse(path, text, mapping)?;
    if issues.is_empty() {
        return Err(IssuesError::Empty {
            file: path.to_path_buf(),
        });
    }
    reject_duplicate_ids(path, &issues)?;
    Ok(issues)
}

/// The file's text, or where its first byte that is not UTF-8 is (1-based line and column).
fn decode_utf8(path: &Path, bytes: Vec<u8>) -> Result<String, IssuesError> {
    String::from_utf8(bytes).map_err(|error| {
        let bad = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        let before = &bytes[..bad];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |newline| newline + 1);
        IssuesError::NotUtf8 {
            file: path.to_path_buf(),
            line,
            // Everything before the bad byte is valid UTF-8, so its characters can be counted.
            column: std::str::from_utf8(&bytes[line_start..bad])
                .map_or(bad - line_start, |text| text.chars().count())
                + 1,
            byte: bytes[bad],
        }
    })
}

fn reject_duplicate_ids(path: &Path, issues: &[Issue]) -> Result<(), IssuesError> {
    let mut first_lines: HashMap<&str, usize> = HashMap::with_capacity(issues.len());
    for issue in issues {
        if let Some(&first_line) = first_lines.get(issue.id.as_str()) {
            return Err(IssuesError::DuplicateId {
                file: path.to_path_buf(),
                line: issue.line,
                id: issue.id.clone(),
                first_line,
            });
        }
        first_lines.insert(&issue.id, issue.line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_bytes_are_located_by_line_and_byte() {
        let error = decode_utf8(
            Path::new("issues.csv"),
            b"id,subject\n1,ok\n2,\xc3\xa9t\xc3\xa9 caf\xe9 cr\xe8me\n".to_vec(),
        )
        .err();
        match error {
            Some(IssuesError::NotUtf8 {
                line, column, byte, ..
            }) => assert_eq!((line, column, byte), (3, 10, 0xE9)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
