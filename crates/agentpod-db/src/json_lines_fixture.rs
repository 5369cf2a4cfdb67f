//! JSON lines data fixtures: one object per line, keys are columns.
//!
//! Rows are re-encoded as CSV for `COPY`: strings quoted (so an empty string stays one), `null`
//! as an unquoted empty field (NULL), nested objects and arrays as JSON text for json/jsonb
//! columns. Consecutive rows with the same keys share one `COPY`; a row with other keys starts
//! a new one, so a missing key leaves the column to its default instead of forcing NULL.

use std::path::Path;

use serde_json::{Map, Value};

use crate::FixtureError;
use crate::copy_load::CopyLoad;

pub(crate) fn parse(
    file: &Path,
    table: &str,
    content: &str,
) -> Result<Vec<CopyLoad>, FixtureError> {
    let mut loads: Vec<CopyLoad> = Vec::new();
    let mut record = Vec::new();
    for (index, text) in content.lines().enumerate() {
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        let row = parse_row(file, line, text)?;
        let same_columns = loads.last().is_some_and(|load| {
            load.columns.len() == row.len()
                && load.columns.iter().zip(row.keys()).all(|(a, b)| a == b)
        });
        if !same_columns {
            loads.push(CopyLoad::new(table, row.keys().cloned().collect(), line));
        }
        if let Some(load) = loads.last_mut() {
            record.clear();
            encode_row(&row, &mut record);
            load.push_row(&record, line);
        }
    }
    Ok(loads)
}

fn parse_row(file: &Path, line: usize, text: &str) -> Result<Map<String, Value>, FixtureError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(row)) if row.is_empty() => {
            Err(FixtureError::invalid(file, line, "row object has no keys"))
        }
        Ok(Value::Object(row)) => Ok(row),
        Ok(_) => Err(FixtureError::invalid(
            file,
            line,
            "row must be a JSON object",
        )),
        Err(error) => {
            let message = error.to_string();
            // serde_json appends its own " at line 1 column C"; only the column is meaningful.
            let message = message
                .rfind(" at line ")
                .map_or(message.as_str(), |position| &message[..position]);
            Err(FixtureError::invalid(
                file,
                line,
                format!("invalid JSON at column {}: {message}", error.column()),
            ))
        }
    }
}

fn encode_row(row: &Map<String, Value>, data: &mut Vec<u8>) {
    for (index, value) in row.values().enumerate() {
        if index > 0 {
            data.push(b',');
        }
        match value {
            Value::Null => {}
            Value::Bool(boolean) => {
                data.extend_from_slice(if *boolean { b"true" } else { b"false" })
            }
            Value::Number(number) => data.extend_from_slice(number.to_string().as_bytes()),
            Value::String(text) => push_quoted(text, data),
            Value::Array(_) | Value::Object(_) => push_quoted(&value.to_string(), data),
        }
    }
}

fn push_quoted(text: &str, data: &mut Vec<u8>) {
    data.push(b'"');
    for byte in text.bytes() {
        if byte == b'"' {
            data.push(b'"');
        }
        data.push(byte);
    }
    data.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_csv_with_nulls_unquoted_and_nested_values_as_json() -> Result<(), FixtureError> {
        let loads = parse(
            Path::new("rows.jsonl"),
            "t",
            "{\"id\": 1, \"name\": \"a \\\"b\\\"\", \"tags\": [\"x\"], \"note\": null}\n\n{\"id\": 2, \"name\": \"\", \"tags\": {\"k\": 1}, \"note\": true}\n{\"id\": 3}\n",
        )?;
        assert_eq!(loads.len(), 2);
        assert_eq!(loads[0].columns, vec!["id", "name", "note", "tags"]);
        assert_eq!(
            String::from_utf8_lossy(loads[0].data()),
            "1,\"a \"\"b\"\"\",,\"[\"\"x\"\"]\"\n2,\"\",true,\"{\"\"k\"\":1}\"\n"
        );
        assert_eq!(loads[0].row_lines(), vec![1, 3]);
        assert_eq!(loads[1].columns, vec!["id"]);
        assert_eq!(loads[1].row_lines(), vec![4]);
        Ok(())
    }

    #[test]
    fn malformed_lines_name_line_and_column() {
        let error = parse(Path::new("rows.jsonl"), "t", "{\"id\": 1}\n{\"id\": 2,}\n")
            .err()
            .map(|error| error.to_string());
        assert_eq!(
            error.as_deref(),
            Some("rows.jsonl:2: invalid JSON at column 10: trailing comma")
        );
    }
}
