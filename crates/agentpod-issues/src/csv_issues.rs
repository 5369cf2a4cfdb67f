//! The CSV issues format: a header row, an `id` column, `expected.<field>` columns for the
//! expected outcome. Values stay strings; an empty cell means the field is absent.

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::{Issue, IssuesError};

const EXPECTED_PREFIX: &str = "expected.";

enum Column {
    Id,
    Field(String),
    Expected(String),
}

pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<Issue>, IssuesError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|error| csv_error(path, error))?
        .clone();
    let columns = classify_columns(path, &header)?;
    let mut issues = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(path, error))?;
        let line = record.position().map_or(0, |position| {
            usize::try_from(position.line()).unwrap_or(usize::MAX)
        });
        let mut id = None;
        let mut fields = Map::new();
        let mut expected = Map::new();
        for (column, value) in columns.iter().zip(record.iter()) {
            if value.is_empty() {
                continue;
            }
            match column {
                Column::Id => id = Some(value.to_owned()),
                Column::Field(name) => {
                    fields.insert(name.clone(), Value::String(value.to_owned()));
                }
                Column::Expected(name) => {
                    expected.insert(name.clone(), Value::String(value.to_owned()));
                }
            }
        }
        let Some(id) = id else {
            return Err(IssuesError::MissingId {
                file: path.to_path_buf(),
                line,
            });
        };
        issues.push(Issue {
            id,
            fields,
            expected: (!expected.is_empty()).then_some(expected),
            line,
        });
    }
    Ok(issues)
}

fn classify_columns(path: &Path, header: &csv::StringRecord) -> Result<Vec<Column>, IssuesError> {
    let mut seen = HashSet::new();
    let mut has_id = false;
    let mut columns = Vec::with_capacity(header.len());
    for name in header {
        if !seen.insert(name) {
            return Err(IssuesError::DuplicateColumn {
                file: path.to_path_buf(),
                column: name.to_owned(),
            });
        }
        let column = if name == "id" {
            has_id = true;
            Column::Id
        } else if let Some(field) = name.strip_prefix(EXPECTED_PREFIX) {
            Column::Expected(field.to_owned())
        } else {
            Column::Field(name.to_owned())
        };
        columns.push(column);
    }
    if !has_id {
        return Err(IssuesError::MissingIdColumn {
            file: path.to_path_buf(),
        });
    }
    Ok(columns)
}

fn csv_error(path: &Path, error: csv::Error) -> IssuesError {
    let line_of = |position: Option<&csv::Position>| {
        position.map_or(0, |position| {
            usize::try_from(position.line()).unwrap_or(usize::MAX)
        })
    };
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => IssuesError::RaggedRow {
            file: path.to_path_buf(),
            line: line_of(pos.as_ref()),
            expected: usize::try_from(*expected_len).unwrap_or(usize::MAX),
            found: usize::try_from(*len).unwrap_or(usize::MAX),
        },
        csv::ErrorKind::Utf8 { pos, .. } => IssuesError::Csv {
            file: path.to_path_buf(),
            line: line_of(pos.as_ref()),
            message: "invalid UTF-8".to_owned(),
        },
        _ => IssuesError::Csv {
            file: path.to_path_buf(),
            line: error
                .position()
                .map_or(0, |position| line_of(Some(position))),
            message: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expected_columns_split_off_and_empty_cells_are_absent() -> Result<(), IssuesError> {
        let issues = parse(
            Path::new("issues.csv"),
            "id,subject,expected.status\n1,refund,refunded\n2,,\n",
        )?;
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].line, 2);
        assert_eq!(
            issues[0].agent_view(),
            json!({"id": "1", "subject": "refund"})
        );
        assert_eq!(
            issues[0].expected.clone().map(Value::Object),
            Some(json!({"status": "refunded"}))
        );
        assert_eq!(issues[1].agent_view(), json!({"id": "2"}));
        assert_eq!(issues[1].expected, None);
        assert_eq!(issues[1].line, 3);
        Ok(())
    }

    #[test]
    fn quoted_multiline_cells_keep_the_starting_line() -> Result<(), IssuesError> {
        let issues = parse(Path::new("issues.csv"), "id,body\n1,\"two\nlines\"\n2,x\n")?;
        assert_eq!(issues[0].line, 2);
        assert_eq!(issues[1].line, 4);
        Ok(())
    }
}
