//! Reading an issues file: picks the format by extension and enforces what both formats share
//! (a usable, unique id per issue).

use std::collections::HashMap;
use std::path::Path;

use crate::{Issue, IssuesError, csv_issues, jsonl_issues};

/// Loads every issue in a `.jsonl` or `.csv` file, in file order.
pub fn load(path: &Path) -> Result<Vec<Issue>, IssuesError> {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    let parse = match extension.as_deref() {
        Some("jsonl") => jsonl_issues::parse,
        Some("csv") => csv_issues::parse,
        _ => {
            return Err(IssuesError::UnsupportedFormat {
                file: path.to_path_buf(),
            });
        }
    };
    let text = std::fs::read_to_string(path).map_err(|source| IssuesError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    load_text(path, &text, parse)
}

/// [`load`] without the reading: parses `text` with `parse` and checks what both formats share.
pub(crate) fn load_text(
    path: &Path,
    text: &str,
    parse: fn(&Path, &str) -> Result<Vec<Issue>, IssuesError>,
) -> Result<Vec<Issue>, IssuesError> {
    let issues = parse(path, text)?;
    if issues.is_empty() {
        return Err(IssuesError::Empty {
            file: path.to_path_buf(),
        });
    }
    reject_duplicate_ids(path, &issues)?;
    Ok(issues)
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
