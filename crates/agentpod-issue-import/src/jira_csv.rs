//! Jira's CSV export (Filters → Export → "Export Excel CSV (all fields)"): one row per issue, a
//! column per field, and a column repeated once per value for multi-valued fields (`Labels`,
//! `Component/s`). Header names are matched exactly, then ignoring case; other columns (sprints,
//! comments, custom fields, …) are not imported.
//!
//! | export | issue field |
//! | --- | --- |
//! | `Issue key` | the id |
//! | `Summary` | `summary` |
//! | `Description` | `description` |
//! | `Issue Type` | `issue_type` |
//! | `Status` | `status` |
//! | `Priority` | `priority` |
//! | `Resolution` | `resolution` |
//! | `Created` | `created` |
//! | `Reporter` | `reporter` |
//! | `Assignee` | `assignee` |
//! | every `Labels` column | `labels` (the non-empty ones) |
//! | every `Component/s` column | `components` (the non-empty ones) |
//! | `Issue id` | provenance: original id |

use std::path::Path;

use serde_json::{Map, Value};

use crate::tracker::TrackerExport;
use crate::{ImportError, Provenance, TrackerIssue};

const KEY_COLUMN: &str = "Issue key";
const ID_COLUMN: &str = "Issue id";
const SUMMARY_COLUMN: &str = "Summary";

/// Single-valued columns and the field each becomes.
const SINGLE: &[(&str, &str)] = &[
    (SUMMARY_COLUMN, "summary"),
    ("Description", "description"),
    ("Issue Type", "issue_type"),
    ("Status", "status"),
    ("Priority", "priority"),
    ("Resolution", "resolution"),
    ("Created", "created"),
    ("Reporter", "reporter"),
    ("Assignee", "assignee"),
];

/// Repeated columns and the list field each becomes.
const REPEATED: &[(&str, &str)] = &[("Labels", "labels"), ("Component/s", "components")];

pub(crate) const FIELDS: &[&str] = &[
    "summary",
    "description",
    "issue_type",
    "status",
    "priority",
    "resolution",
    "created",
    "reporter",
    "assignee",
    "labels",
    "components",
];

pub(crate) fn read(file: &Path, text: &str) -> Result<TrackerExport, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|error| csv_error(file, &error))?
        .clone();
    let names: Vec<&str> = header.iter().collect();
    let key = required_column(file, &names, KEY_COLUMN)?;
    required_column(file, &names, SUMMARY_COLUMN)?;
    let original_id = columns_named(&names, ID_COLUMN).first().copied();
    let single: Vec<(&str, Option<usize>)> = SINGLE
        .iter()
        .map(|(column, field)| (*field, columns_named(&names, column).first().copied()))
        .collect();
    let repeated: Vec<(&str, Vec<usize>)> = REPEATED
        .iter()
        .map(|(column, field)| (*field, columns_named(&names, column)))
        .collect();
    let mut export = TrackerExport::default();
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(file, &error))?;
        let line = record.position().map_or(0, |position| {
            usize::try_from(position.line()).unwrap_or(usize::MAX)
        });
        let cell = |index: Option<usize>| index.and_then(|index| record.get(index)).unwrap_or("");
        let id = cell(Some(key)).trim().to_owned();
        if id.is_empty() {
            return Err(ImportError::EmptyKey {
                file: file.to_path_buf(),
                line,
                column: KEY_COLUMN,
            });
        }
        let mut fields = Map::new();
        for (field, index) in &single {
            fields.insert((*field).into(), Value::from(cell(*index)));
        }
        for (field, indices) in &repeated {
            let values: Vec<Value> = indices
                .iter()
                .map(|&index| cell(Some(index)).trim())
                .filter(|value| !value.is_empty())
                .map(Value::from)
                .collect();
            fields.insert((*field).into(), Value::Array(values));
        }
        let original_id = match cell(original_id).trim() {
            "" => id.clone(),
            given => given.to_owned(),
        };
        export.issues.push(TrackerIssue {
            provenance: Provenance {
                source: "jira",
                original_id,
                key: Some(id.clone()),
                url: None,
                export_file: String::new(),
                imported_at: String::new(),
            },
            id,
            fields,
        });
    }
    Ok(export)
}

/// The indices of the columns named `name`: exactly, or else ignoring case.
fn columns_named(names: &[&str], name: &str) -> Vec<usize> {
    let exact: Vec<usize> = (0..names.len())
        .filter(|&index| names[index] == name)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    (0..names.len())
        .filter(|&index| names[index].trim().eq_ignore_ascii_case(name))
        .collect()
}

fn required_column(
    file: &Path,
    names: &[&str],
    column: &'static str,
) -> Result<usize, ImportError> {
    if let Some(&index) = columns_named(names, column).first() {
        return Ok(index);
    }
    let suggestion = names
        .iter()
        .map(|name| {
            (
                strsim::damerau_levenshtein(&name.to_lowercase(), &column.to_lowercase()),
                name,
            )
        })
        .filter(|(distance, _)| *distance <= column.len() / 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| (*name).to_owned());
    Err(ImportError::MissingColumn {
        file: file.to_path_buf(),
        column,
        suggestion,
        available: names.iter().map(|name| format!("`{name}`")).collect(),
    })
}

fn csv_error(file: &Path, error: &csv::Error) -> ImportError {
    let line = error.position().map_or(0, |position| {
        usize::try_from(position.line()).unwrap_or(usize::MAX)
    });
    ImportError::Csv {
        file: file.to_path_buf(),
        line,
        message: match error.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("the row has {len} values but the header has {expected_len} columns"),
            _ => error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repeated_columns_become_lists_and_multiline_cells_stay_whole() -> Result<(), ImportError> {
        let text = "Summary,Issue key,Issue id,Priority,Labels,Labels,Component/s,Description\n\
                    Login fails,AB-1,10001,High,auth,,web,\"Steps:\n1. open\n2. fail\"\n\
                    Typo,AB-2,10002,,,,,\n";
        let export = read(Path::new("jira.csv"), text)?;
        let issues = &export.issues;
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].id, "AB-1");
        assert_eq!(issues[0].fields["labels"], json!(["auth"]));
        assert_eq!(issues[0].fields["components"], json!(["web"]));
        assert_eq!(
            issues[0].fields["description"],
            json!("Steps:\n1. open\n2. fail")
        );
        assert_eq!(
            issues[0].fields["status"],
            json!(""),
            "a column the export lacks is empty"
        );
        assert_eq!(issues[0].provenance.original_id, "10001");
        assert_eq!(issues[1].fields["priority"], json!(""));
        assert_eq!(issues[1].fields["labels"], json!([]));
        Ok(())
    }

    #[test]
    fn a_missing_key_column_is_named_with_the_closest_header() {
        match read(Path::new("jira.csv"), "Summary,Issue-Key\nx,AB-1\n") {
            Err(ImportError::MissingColumn {
                column, suggestion, ..
            }) => {
                assert_eq!(column, "Issue key");
                assert_eq!(suggestion.as_deref(), Some("Issue-Key"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
