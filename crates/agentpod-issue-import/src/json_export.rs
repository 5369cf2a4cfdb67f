//! Reading a JSON export as the tools save it: one document, or several one after another
//! (`gh api --paginate` writes each page's array in turn; a JSON data export writes one record
//! per line), each position reported as the file's line and column.

use std::path::Path;

use serde_json::Value;

use crate::ImportError;

/// The top-level JSON values of `text`, in order.
pub(crate) fn documents(file: &Path, text: &str) -> Result<Vec<Value>, ImportError> {
    let mut documents = Vec::new();
    for document in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let document = document.map_err(|error| ImportError::MalformedJson {
            file: file.to_path_buf(),
            line: error.line(),
            column: error.column(),
            message: message_without_position(&error),
        })?;
        documents.push(document);
    }
    Ok(documents)
}

/// The records of an export: the items of top-level arrays (one level of nesting too, as
/// `gh api --paginate --slurp` writes pages), the items of `list_key` in top-level objects
/// that have it, and other top-level objects as records themselves (one record per line).
pub(crate) fn records(
    file: &Path,
    text: &str,
    list_key: Option<&str>,
    expected: &str,
) -> Result<Vec<Value>, ImportError> {
    let mut records = Vec::new();
    for document in documents(file, text)? {
        match document {
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Array(page) => records.extend(page),
                        other => records.push(other),
                    }
                }
            }
            Value::Object(mut object) => {
                match list_key.and_then(|key| object.remove(key)) {
                    Some(Value::Array(items)) => records.extend(items),
                    Some(_) | None if object.contains_key("message") && object.len() <= 3 => {
                        // What the API answers instead of a list: {"message": "Not Found", ...}.
                        return Err(ImportError::UnexpectedShape {
                            file: file.to_path_buf(),
                            message: format!(
                                "the file holds an API error, not {expected}: {}",
                                object["message"]
                            ),
                        });
                    }
                    Some(_) | None => records.push(Value::Object(object)),
                }
            }
            other => {
                return Err(ImportError::UnexpectedShape {
                    file: file.to_path_buf(),
                    message: format!("expected {expected}, found {}", kind_of(&other)),
                });
            }
        }
    }
    Ok(records)
}

/// Record `index` (0-based) of an export as an object, or which record is not one.
pub(crate) fn record_object<'a>(
    file: &Path,
    index: usize,
    record: &'a Value,
) -> Result<&'a serde_json::Map<String, Value>, ImportError> {
    record
        .as_object()
        .ok_or_else(|| ImportError::UnexpectedShape {
            file: file.to_path_buf(),
            message: format!("record {} of the export is not an object", index + 1),
        })
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

/// serde_json ends its messages with " at line L column C", which the error says apart.
fn message_without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(position) => message[..position].to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_one_after_another_are_one_list() -> Result<(), ImportError> {
        let file = Path::new("issues.json");
        let records = records(file, "[{\"a\":1},{\"a\":2}]\n[{\"a\":3}]\n", None, "issues")?;
        assert_eq!(
            records,
            vec![json!({"a":1}), json!({"a":2}), json!({"a":3})]
        );
        let slurped = super::records(file, "[[{\"a\":1}],[{\"a\":2}]]", None, "issues")?;
        assert_eq!(slurped.len(), 2);
        Ok(())
    }

    #[test]
    fn a_wrapped_list_and_one_record_per_line_read_alike() -> Result<(), ImportError> {
        let file = Path::new("tickets.json");
        let wrapped = records(
            file,
            "{\"tickets\": [{\"id\": 1}, {\"id\": 2}], \"count\": 2}",
            Some("tickets"),
            "tickets",
        )?;
        let lines = records(
            file,
            "{\"id\": 1}\n{\"id\": 2}\n",
            Some("tickets"),
            "tickets",
        )?;
        assert_eq!(wrapped, lines);
        Ok(())
    }

    #[test]
    fn malformed_json_is_located_in_the_file() {
        match records(
            Path::new("x.json"),
            "[\n{\"a\": 1},\n{\"a\" 2}\n]",
            None,
            "issues",
        ) {
            Err(ImportError::MalformedJson { line, column, .. }) => {
                assert_eq!((line, column), (3, 6));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
