//! The CSV issues format: a header row; by default an `id` column and `expected.<field>` columns
//! for the expected outcome, or the columns the spec's mapping names. Values stay strings. An
//! empty cell is an empty string for the agent; an empty answer cell means no expectation for
//! that field (an issue whose answer cells are all empty has no `expected` part).

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::issue_mapping::{Role, closest};
use crate::{IdSource, Issue, IssueMapping, IssuesError};

const EXPECTED_PREFIX: &str = "expected.";

pub(crate) fn parse(
    path: &Path,
    text: &str,
    mapping: &IssueMapping,
) -> Result<Vec<Issue>, IssuesError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|error| csv_error(path, error))?
        .clone();
    let columns = classify_columns(path, &header, mapping)?;
    let mut issues = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|error| csv_error(path, error))?;
        let line = record.position().map_or(0, |position| {
            usize::try_from(position.line()).unwrap_or(usize::MAX)
        });
        let mut id = match mapping.id {
            IdSource::Row => Some((row + 1).to_string()),
            IdSource::Field(_) => None,
        };
        let mut fields = Map::new();
        let mut expected = Map::new();
        for (column, value) in columns.iter().zip(record.iter()) {
            match column {
                Role::Id if !value.trim().is_empty() => id = Some(value.to_owned()),
                Role::Field(name) => {
                    fields.insert(name.clone(), Value::String(value.to_owned()));
                }
                Role::Expected(name) if !value.is_empty() => {
                    expected.insert(name.clone(), Value::String(value.to_owned()));
                }
                Role::Id | Role::Expected(_) | Role::Dropped => {}
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

fn classify_columns(
    path: &Path,
    header: &csv::StringRecord,
    mapping: &IssueMapping,
) -> Result<Vec<Role>, IssuesError> {
    let available: Vec<&str> = header.iter().collect();
    for (name, key) in mapping.named() {
        if !available.contains(&name) {
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
    let mut seen = HashSet::new();
    let mut columns = Vec::with_capacity(header.len());
    for name in header {
        let role = match name.strip_prefix(EXPECTED_PREFIX) {
            // An `expected.` column is the answer whatever the mapping says: never the agent's.
            Some(field) => Role::Expected(field.to_owned()),
            None => mapping.role_of(name),
        };
        // A repeated column (Jira's `Labels`, `Component/s`) is ambiguous only if it is read.
        if role != Role::Dropped && !seen.insert(name) {
            return Err(IssuesError::DuplicateColumn {
                file: path.to_path_buf(),
                column: name.to_owned(),
            });
        }
        columns.push(role);
    }
    if !columns.contains(&Role::Id) && mapping.id != IdSource::Row {
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

    fn parse_default(text: &str) -> Result<Vec<Issue>, IssuesError> {
        parse(Path::new("issues.csv"), text, &IssueMapping::default())
    }

    #[test]
    fn expected_columns_split_off_and_empty_cells_are_empty_strings() -> Result<(), IssuesError> {
        let issues = parse_default("id,subject,expected.status\n1,refund,refunded\n2,,\n")?;
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
        // The agent sees every column, empty or not; an empty answer is no expectation.
        assert_eq!(issues[1].agent_view(), json!({"id": "2", "subject": ""}));
        assert_eq!(issues[1].expected, None);
        assert_eq!(issues[1].line, 3);
        Ok(())
    }

    #[test]
    fn quoted_multiline_cells_keep_the_starting_line() -> Result<(), IssuesError> {
        let issues = parse_default("id,body\n1,\"two\nlines\"\n2,x\n")?;
        assert_eq!(issues[0].line, 2);
        assert_eq!(issues[1].line, 4);
        Ok(())
    }

    #[test]
    fn a_mapping_names_the_id_the_answer_and_the_agent_fields() -> Result<(), IssuesError> {
        let mapping = IssueMapping {
            id: IdSource::Field("Issue key".to_owned()),
            expected: vec!["Priority".to_owned()],
            fields: Some(vec!["Summary".to_owned()]),
        };
        let issues = parse(
            Path::new("jira.csv"),
            "Issue key,Summary,Priority,Status,id\nAB-1,Login fails,High,Open,10001\nAB-2,Typo,,Done,10002\n",
            &mapping,
        )?;
        assert_eq!(
            issues[0].agent_view(),
            json!({"id": "AB-1", "Summary": "Login fails"})
        );
        assert_eq!(
            issues[0].expected.clone().map(Value::Object),
            Some(json!({"Priority": "High"}))
        );
        assert!(!issues[0].agent_view().to_string().contains("High"));
        assert_eq!(issues[1].expected, None);
        Ok(())
    }

    #[test]
    fn repeated_columns_are_an_error_only_when_read() {
        let text = "id,Labels,Labels,title\n1,a,b,x\n";
        assert!(matches!(
            parse_default(text),
            Err(IssuesError::DuplicateColumn { .. })
        ));
        let mapping = IssueMapping {
            fields: Some(vec!["title".to_owned()]),
            ..IssueMapping::default()
        };
        let issues = parse(Path::new("issues.csv"), text, &mapping);
        assert_eq!(
            issues.ok().map(|issues| issues[0].agent_view()),
            Some(json!({"id": "1", "title": "x"}))
        );
    }

    #[test]
    fn row_numbers_can_be_the_ids() -> Result<(), IssuesError> {
        let mapping = IssueMapping {
            id: IdSource::Row,
            expected: vec!["label".to_owned()],
            fields: None,
        };
        let issues = parse(
            Path::new("issues.csv"),
            "title,label\n\"multi\nline\",bug\nsecond,question\n",
            &mapping,
        )?;
        let ids: Vec<&str> = issues.iter().map(|issue| issue.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        assert_eq!(
            issues[1].agent_view(),
            json!({"id": "2", "title": "second"})
        );
        Ok(())
    }

    #[test]
    fn a_mapped_column_missing_from_the_header_is_named_with_a_suggestion() {
        let mapping = IssueMapping {
            expected: vec!["priorty".to_owned()],
            ..IssueMapping::default()
        };
        let error = parse(Path::new("issues.csv"), "id,Priority\n1,High\n", &mapping).err();
        match &error {
            Some(IssuesError::UnknownColumn {
                line,
                name,
                key,
                suggestion,
                ..
            }) => {
                assert_eq!(
                    (*line, name.as_str(), *key),
                    (1, "priorty", "issues.expected")
                );
                assert_eq!(suggestion.as_deref(), Some("Priority"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let help = error.and_then(|error| error.help()).unwrap_or_default();
        assert!(help.contains("did you mean `Priority`"), "{help}");
    }

    #[test]
    fn expected_prefixed_columns_never_reach_the_agent_even_when_fields_name_them()
    -> Result<(), IssuesError> {
        let mapping = IssueMapping {
            fields: Some(vec!["subject".to_owned(), "expected.status".to_owned()]),
            ..IssueMapping::default()
        };
        let issues = parse(
            Path::new("issues.csv"),
            "id,subject,expected.status\n1,refund,refunded\n",
            &mapping,
        )?;
        assert_eq!(
            issues[0].agent_view(),
            json!({"id": "1", "subject": "refund"})
        );
        Ok(())
    }
}
