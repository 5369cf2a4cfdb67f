//! GitHub issues as the REST API lists them (`gh api repos/OWNER/REPO/issues --paginate
//! -X GET -f state=all > issues.json`): arrays of issue objects, page after page. The endpoint
//! lists pull requests too, marked by a `pull_request` key; they are skipped.
//!
//! | export | issue field |
//! | --- | --- |
//! | `number` | the id |
//! | `title` | `title` |
//! | `body` (null: empty) | `body` |
//! | `labels[].name` | `labels` |
//! | `state` | `state` |
//! | `state_reason` | `state_reason` |
//! | `user.login` | `author` |
//! | `created_at` | `created_at` |
//! | `id`, `html_url`, `repository_url` | provenance: original id, URL, key `owner/repo#number` |

use std::path::Path;

use serde_json::{Map, Value};

use crate::tracker::TrackerExport;
use crate::tracker_issue::{id_text, text_or_empty};
use crate::{ImportError, Provenance, TrackerIssue};

pub(crate) const FIELDS: &[&str] = &[
    "title",
    "body",
    "labels",
    "state",
    "state_reason",
    "author",
    "created_at",
];

pub(crate) fn read(file: &Path, text: &str) -> Result<TrackerExport, ImportError> {
    let records = crate::json_export::records(
        file,
        text,
        None,
        "a JSON array of issues (as `gh api repos/OWNER/REPO/issues --paginate` saves it)",
    )?;
    let mut export = TrackerExport::default();
    for (index, record) in records.iter().enumerate() {
        let issue = crate::json_export::record_object(file, index, record)?;
        if issue.contains_key("pull_request") {
            export.skipped_pull_requests += 1;
            continue;
        }
        let missing = |field| ImportError::MissingField {
            file: file.to_path_buf(),
            record: index + 1,
            field,
        };
        let number = id_text(issue.get("number")).ok_or_else(|| missing("number"))?;
        let mut fields = Map::new();
        fields.insert("title".into(), text_or_empty(issue.get("title")));
        fields.insert("body".into(), text_or_empty(issue.get("body")));
        fields.insert("labels".into(), label_names(issue.get("labels")));
        fields.insert("state".into(), text_or_empty(issue.get("state")));
        fields.insert(
            "state_reason".into(),
            text_or_empty(issue.get("state_reason")),
        );
        fields.insert(
            "author".into(),
            text_or_empty(issue.get("user").and_then(|user| user.get("login"))),
        );
        fields.insert("created_at".into(), text_or_empty(issue.get("created_at")));
        let url = issue.get("html_url").and_then(Value::as_str);
        let key = repository(issue).map(|repository| format!("{repository}#{number}"));
        export.issues.push(TrackerIssue {
            provenance: Provenance {
                source: "github",
                original_id: id_text(issue.get("id")).unwrap_or_else(|| number.clone()),
                key,
                url: url.map(str::to_owned),
                export_file: String::new(),
                imported_at: String::new(),
            },
            id: number,
            fields,
        });
    }
    Ok(export)
}

/// Labels are objects with a `name` in the API's answer; plain strings are taken as names too.
fn label_names(labels: Option<&Value>) -> Value {
    let names = labels
        .and_then(Value::as_array)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|label| match label {
                    Value::String(name) => Some(name.clone()),
                    Value::Object(label) => label.get("name")?.as_str().map(str::to_owned),
                    _ => None,
                })
                .map(Value::String)
                .collect()
        })
        .unwrap_or_default();
    Value::Array(names)
}

/// `owner/repo`, from `repository_url` (`https://api.github.com/repos/owner/repo`) or, failing
/// that, `html_url` (`https://github.com/owner/repo/issues/12`).
fn repository(issue: &Map<String, Value>) -> Option<String> {
    if let Some(url) = issue.get("repository_url").and_then(Value::as_str)
        && let Some((_, repository)) = url.split_once("/repos/")
    {
        return Some(repository.trim_end_matches('/').to_owned());
    }
    let url = issue.get("html_url")?.as_str()?;
    let path = url.split_once("://")?.1.split_once('/')?.1;
    let mut parts = path.split('/');
    Some(format!("{}/{}", parts.next()?, parts.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn issues_are_read_and_pull_requests_skipped() -> Result<(), ImportError> {
        let text = r#"[
          {"id": 901, "number": 12, "title": "Crash on start", "body": null,
           "labels": [{"id": 1, "name": "bug"}, {"id": 2, "name": "area: ui"}],
           "state": "closed", "state_reason": "completed", "user": {"login": "ada"},
           "created_at": "2024-01-02T03:04:05Z",
           "html_url": "https://github.com/acme/app/issues/12",
           "repository_url": "https://api.github.com/repos/acme/app"},
          {"id": 902, "number": 13, "title": "Fix crash", "pull_request": {"url": "x"}}
        ]"#;
        let export = read(Path::new("issues.json"), text)?;
        assert_eq!(export.skipped_pull_requests, 1);
        let [issue] = export.issues.as_slice() else {
            panic!("one issue expected, got {:?}", export.issues);
        };
        assert_eq!(issue.id, "12");
        assert_eq!(issue.fields["body"], json!(""));
        assert_eq!(issue.fields["labels"], json!(["bug", "area: ui"]));
        assert_eq!(issue.fields["author"], json!("ada"));
        assert_eq!(issue.provenance.original_id, "901");
        assert_eq!(issue.provenance.key.as_deref(), Some("acme/app#12"));
        Ok(())
    }

    #[test]
    fn an_issue_without_a_number_is_named_by_its_position() {
        let error = read(
            Path::new("issues.json"),
            r#"[{"number": 1}, {"title": "x"}]"#,
        )
        .err();
        assert!(
            matches!(
                error,
                Some(ImportError::MissingField {
                    record: 2,
                    field: "number",
                    ..
                })
            ),
            "{error:?}"
        );
    }
}
