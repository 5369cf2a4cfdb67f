//! Entry points for the fuzz targets under `tests/fuzz`: the issues readers on text, without a
//! file. Not part of the crate's interface; hidden from its documentation.

use std::path::Path;

use crate::{Issue, IssueMapping, IssuesError};

/// Loads `text` as the CSV issues file `fuzz/issues.csv`, with every check `load` makes.
pub fn parse_csv(text: &str) -> Result<Vec<Issue>, IssuesError> {
    crate::load::load_text(
        Path::new("fuzz/issues.csv"),
        text,
        crate::csv_issues::parse,
        &IssueMapping::default(),
    )
}

/// Loads `text` as the JSON lines issues file `fuzz/issues.jsonl`, with every check `load` makes.
pub fn parse_jsonl(text: &str) -> Result<Vec<Issue>, IssuesError> {
    crate::load::load_text(
        Path::new("fuzz/issues.jsonl"),
        text,
        crate::jsonl_issues::parse,
        &IssueMapping::default(),
    )
}
