//! Loading good issues files from disk.

use std::io::Write;

use agentpod_issues::{Issue, IssuesError, load};
use serde_json::json;

fn write_file(suffix: &str, content: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new().suffix(suffix).tempfile()?;
    file.write_all(content.as_bytes())?;
    Ok(file)
}

#[test]
fn jsonl_and_csv_describe_the_same_issues() -> Result<(), Box<dyn std::error::Error>> {
    let jsonl = write_file(
        ".jsonl",
        "{\"id\": \"r-1\", \"subject\": \"refund\", \"expected\": {\"status\": \"refunded\"}}\n\
         {\"id\": \"r-2\", \"subject\": \"late\"}\n",
    )?;
    let csv = write_file(
        ".csv",
        "id,subject,expected.status\nr-1,refund,refunded\nr-2,late,\n",
    )?;
    let from_jsonl = load(jsonl.path())?;
    let from_csv = load(csv.path())?;
    let strip_lines = |issues: Vec<Issue>| -> Vec<Issue> {
        issues
            .into_iter()
            .map(|issue| Issue { line: 0, ..issue })
            .collect()
    };
    assert_eq!(strip_lines(from_jsonl.clone()), strip_lines(from_csv));
    assert_eq!(
        from_jsonl[1].agent_view(),
        json!({"id": "r-2", "subject": "late"})
    );
    assert_eq!(from_jsonl[1].line, 2);
    Ok(())
}

#[test]
fn nested_values_are_kept_as_json() -> Result<(), Box<dyn std::error::Error>> {
    let jsonl = write_file(
        ".JSONL",
        "{\"id\": 10, \"customer\": {\"name\": \"Ada\"}, \"items\": [1, 2], \"note\": null}\n",
    )?;
    let issues = load(jsonl.path())?;
    assert_eq!(
        issues[0].agent_view(),
        json!({"id": "10", "customer": {"name": "Ada"}, "items": [1, 2], "note": null})
    );
    Ok(())
}

#[test]
fn missing_file_is_a_read_error() {
    let result = load(std::path::Path::new("/nonexistent/issues.jsonl"));
    assert!(
        matches!(result, Err(IssuesError::Read { .. })),
        "{result:?}"
    );
}
