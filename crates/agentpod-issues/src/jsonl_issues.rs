//! The JSON lines issues format: one object per line, `id` required, `expected` optional.

use std::path::Path;

use serde_json::Value;

use crate::{Issue, IssuesError};

pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<Issue>, IssuesError> {
    let mut issues = Vec::new();
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
        let Value::Object(mut object) = value else {
            return Err(IssuesError::NotAnObject {
                file: path.to_path_buf(),
                line,
                found: kind_of(&value),
            });
        };
        let id = match object.remove("id") {
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
        };
        let expected = match object.remove("expected") {
            None | Some(Value::Null) => None,
            Some(Value::Object(expected)) => Some(expected),
            Some(other) => {
                return Err(IssuesError::InvalidExpected {
                    file: path.to_path_buf(),
                    line,
                    found: kind_of(&other),
                });
            }
        };
        issues.push(Issue {
            id,
            fields: object,
            expected,
            line,
        });
    }
    Ok(issues)
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
        parse(Path::new("issues.jsonl"), text)
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
}
