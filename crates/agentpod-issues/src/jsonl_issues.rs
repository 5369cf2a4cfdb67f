//! The JSON lines issues format: one object per line; by default `id` required and `expected`
//! optional, or the keys the spec's mapping names (top-level keys only).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::issue_mapping::{Role, closest};
use crate::{IdSource, Issue, IssueMapping, IssuesError};

pub(crate) fn parse(
    path: &Path,
    text: &str,
    mapping: &IssueMapping,
) -> Result<Vec<Issue>, IssuesError> {
    let mut issues = Vec::new();
    let mut keys_seen = BTreeSet::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        if raw_line.trim().is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(raw_line).map_err(|error| IssuesError::MalformedJson {
                file: path.to_path_buf(),
                line,
                column: error.column(),
                message: message_without_position(&error),
            })?;
        let Value::Object(object) = value else {
            return Err(IssuesError::NotAnObject {
                file: path.to_path_buf(),
                line,
                found: kind_of(&value),
            });
        };
        keys_seen.extend(object.keys().cloned());
        let row = issues.len() + 1;
        issues.push(issue_from(path, line, row, object, mapping)?);
    }
    check_named_keys(path, mapping, &keys_seen)?;
    Ok(issues)
}

fn issue_from(
    path: &Path,
    line: usize,
    row: usize,
    mut object: Map<String, Value>,
    mapping: &IssueMapping,
) -> Result<Issue, IssuesError> {
    let id = match &mapping.id {
        IdSource::Row => row.to_string(),
        IdSource::Field(key) => match object.remove(key) {
            None | Some(Value::Null) => {
                return Err(IssuesError::MissingId {
                    file: path.to_path_buf(),
                    line,
                });
            }
            Some(Value::String(id)) if !id.trim().is_empty() => id,
            Some(Value::Number(number)) if number.is_i64() || number.is_u64() => number.to_string(),
            Some(other) => {
                return Err(IssuesError::InvalidId {
                    file: path.to_path_buf(),
                    line,
                    found: other.to_string(),
                });
            }
        },
    };
    let mut expected = match object.remove("expected") {
        None | Some(Value::Null) => None,
        // A null answer is no answer, as an empty CSV cell is: a grader comparing it would pass
        // an agent that wrote nothing.
        Some(Value::Object(mut expected)) => {
            expected.retain(|_, value| !value.is_null());
            (!expected.is_empty()).then_some(expected)
        }
        Some(other) => {
            return Err(IssuesError::InvalidExpected {
                file: path.to_path_buf(),
                line,
                found: kind_of(&other),
            });
        }
    };
    let mut fields = Map::new();
    for (key, value) in object {
        match mapping.role_of(&key) {
            // A null answer is no answer, as an empty CSV cell is.
            Role::Expected(name) if !value.is_null() => {
                expected.get_or_insert_with(Map::new).insert(name, value);
            }
            Role::Field(name) => {
                fields.insert(name, value);
            }
            Role::Id | Role::Expected(_) | Role::Dropped => {}
        }
    }
    Ok(Issue {
        id,
        fields,
        expected,
        line,
    })
}

/// A key the mapping names must be in some record, or it is a slip of the pen.
fn check_named_keys(
    path: &Path,
    mapping: &IssueMapping,
    keys_seen: &BTreeSet<String>,
) -> Result<(), IssuesError> {
    for (name, key) in mapping.named() {
        if !keys_seen.contains(name) {
            let available: Vec<&str> = keys_seen.iter().map(String::as_str).collect();
            return Err(IssuesError::UnknownColumn {
                file: path.to_path_buf(),
                line: 1,
                name: name.to_owned(),
                key,
                suggestion: closest(name, &available).map(str::to_owned),
                available: available.iter().map(|name| (*name).to_owned()).collect(),
            });
        }
    }
    Ok(())
}

/// serde_json appends " at line L column C" to its messages; the line is always 1 here because
/// each line is parsed on its own, so the suffix would contradict the real file position.
fn message_without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(position) => message[..position].to_owned(),
        None => message,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_text(text: &str) -> Result<Vec<Issue>, IssuesError> {
        parse(Path::new("issues.jsonl"), text, &IssueMapping::default())
    }

    #[test]
    fn integer_ids_become_strings_and_expected_is_split_off() -> Result<(), IssuesError> {
        let issues = parse_text(
            "{\"id\": 7, \"subject\": \"a\", \"expected\": {\"status\": \"closed\"}}\n\n{\"id\": \"b-2\", \"tags\": [1]}\n",
        )?;
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].id, "7");
        assert_eq!(issues[0].line, 1);
        assert_eq!(
            Value::Object(issues[0].fields.clone()),
            json!({"subject": "a"})
        );
        assert_eq!(
            issues[0].expected.clone().map(Value::Object),
            Some(json!({"status": "closed"}))
        );
        assert_eq!(issues[1].id, "b-2");
        assert_eq!(issues[1].line, 3);
        assert_eq!(issues[1].expected, None);
        Ok(())
    }

    #[test]
    fn malformed_json_reports_the_column_on_the_real_line() {
        let error = parse_text("{\"id\": 1}\n{\"id\": 2 \"x\": 1}\n").err();
        match error {
            Some(IssuesError::MalformedJson {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(line, 2);
                assert_eq!(column, 10);
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("unexpected result {other:?}"),
        }
    }

    #[test]
    fn fractional_and_empty_ids_are_rejected() {
        assert!(matches!(
            parse_text("{\"id\": 1.5}"),
            Err(IssuesError::InvalidId { line: 1, .. })
        ));
        assert!(matches!(
            parse_text("{\"id\": \" \"}"),
            Err(IssuesError::InvalidId { line: 1, .. })
        ));
    }

    #[test]
    fn a_mapping_moves_answer_keys_out_of_the_agents_view() -> Result<(), IssuesError> {
        let mapping = IssueMapping {
            id: IdSource::Field("number".to_owned()),
            expected: vec!["labels".to_owned()],
            fields: Some(vec!["title".to_owned(), "body".to_owned()]),
        };
        let issues = parse(
            Path::new("issues.jsonl"),
            "{\"number\": 12, \"id\": 998, \"title\": \"Crash\", \"body\": \"x\", \"labels\": [\"bug\"], \"state\": \"open\", \"provenance\": {\"source\": \"github\"}}\n\
             {\"number\": 13, \"title\": \"Ask\", \"body\": null, \"labels\": null}\n",
            &mapping,
        )?;
        assert_eq!(issues[0].id, "12");
        assert_eq!(
            issues[0].agent_view(),
            json!({"id": "12", "title": "Crash", "body": "x"})
        );
        assert_eq!(
            issues[0].expected.clone().map(Value::Object),
            Some(json!({"labels": ["bug"]}))
        );
        assert_eq!(issues[0].fields["provenance"], json!({"source": "github"}));
        assert_eq!(issues[1].expected, None);
        Ok(())
    }

    #[test]
    fn a_mapped_key_no_record_has_is_an_error_with_a_suggestion() {
        let mapping = IssueMapping {
            expected: vec!["categroy".to_owned()],
            ..IssueMapping::default()
        };
        match parse(
            Path::new("issues.jsonl"),
            "{\"id\": 1, \"category\": \"bug\"}\n",
            &mapping,
        ) {
            Err(IssuesError::UnknownColumn { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("category"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_null_answer_inside_expected_is_no_answer() {
        let text = "{\"id\": \"1\", \"expected\": {\"category\": null, \"priority\": \"high\"}}\n\
                    {\"id\": \"2\", \"expected\": {\"category\": null}}\n";
        let issues = parse(Path::new("i.jsonl"), text, &IssueMapping::default()).unwrap();
        assert_eq!(
            issues[0].expected.clone().map(Value::Object),
            Some(json!({"priority": "high"}))
        );
        assert_eq!(issues[1].expected, None, "nothing left to judge");
    }
}
