//! Adding a candidate to an evaluation set's JSON lines issues file: refuse a duplicate (the
//! same agent-visible fields), choose a free id, and write the file anew through a temporary
//! file renamed over it, so a failure leaves the old file whole.

use std::io::Write;
use std::path::{Path, PathBuf};

use agentpod_issues::{IdSource, Issue, IssueMapping};
use serde_json::{Map, Value};

use crate::candidate::{Candidate, agent_fields};
use crate::promote_error::PromoteError;

/// The evaluation set to add to: its issues file and the mapping it is read with.
#[derive(Debug, Clone)]
pub struct SetTarget {
    pub file: PathBuf,
    pub mapping: IssueMapping,
}

/// What `add_to_set` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    /// The id the issue has in the set.
    pub id: String,
    /// Set when an issue with the same fields was given the new answer (`replace`).
    pub replaced: bool,
    /// How many issues the set holds now.
    pub issues: usize,
}

/// Adds `candidate` to the set, or refuses: the same agent-visible fields with the same answer
/// are a duplicate; with another answer, a conflict unless `replace` (then that issue keeps its
/// id and line and takes the candidate's answer and provenance).
pub fn add_to_set(
    target: &SetTarget,
    candidate: &Candidate,
    replace: bool,
) -> Result<Added, PromoteError> {
    add_to_set_with(target, candidate, replace, |_, _| Ok(()))
}

/// [`add_to_set`], calling `before_write` with the issue's id in the set and its provenance
/// once the issue is accepted and before the issues file is written: files the issue refers to
/// (a fixture delta) are written there, and named in the provenance. A refusal calls nothing.
pub fn add_to_set_with(
    target: &SetTarget,
    candidate: &Candidate,
    replace: bool,
    before_write: impl FnOnce(&str, &mut Map<String, Value>) -> Result<(), PromoteError>,
) -> Result<Added, PromoteError> {
    let mut candidate = candidate.clone();
    let file = &target.file;
    check_format(file)?;
    let id_key = match &target.mapping.id {
        IdSource::Field(name) => name.clone(),
        IdSource::Row => return Err(PromoteError::RowIds),
    };
    let text = read_text(target)?;
    let existing = existing_issues(target, &text)?;
    let wanted = candidate.agent_fields();
    let same_fields = existing
        .iter()
        .find(|issue| agent_fields(&issue.fields) == wanted);
    let (text, added) = match same_fields {
        Some(issue) => {
            let existing_expected = issue.expected.clone().unwrap_or_default();
            if existing_expected == candidate.expected {
                return Err(PromoteError::Duplicate {
                    existing: issue.id.clone(),
                    file: file.clone(),
                });
            }
            if !replace {
                return Err(PromoteError::ConflictingAnswer {
                    existing: issue.id.clone(),
                    existing_expected: Value::Object(existing_expected).to_string(),
                    file: file.clone(),
                });
            }
            before_write(&issue.id, &mut candidate.provenance)?;
            let record = candidate.record(&id_key, &issue.id);
            let added = Added {
                id: issue.id.clone(),
                replaced: true,
                issues: existing.len(),
            };
            (replace_line(&text, issue.line, &record), added)
        }
        None => {
            let id = free_id(&candidate.preferred_id, &existing);
            before_write(&id, &mut candidate.provenance)?;
            let record = candidate.record(&id_key, &id);
            let added = Added {
                id,
                replaced: false,
                issues: existing.len() + 1,
            };
            (append_line(&text, &record), added)
        }
    };
    write_atomically(file, &text)?;
    Ok(added)
}

fn check_format(file: &Path) -> Result<(), PromoteError> {
    let extension = file
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jsonl") => Ok(()),
        Some("csv") => Err(PromoteError::CsvTarget {
            file: file.to_path_buf(),
        }),
        _ => Err(PromoteError::UnsupportedTarget {
            file: file.to_path_buf(),
        }),
    }
}

/// The file's text; a file not there yet is an empty set.
fn read_text(target: &SetTarget) -> Result<String, PromoteError> {
    let file = &target.file;
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(source) => {
            return Err(PromoteError::Read(agentpod_issues::IssuesError::Read {
                file: file.clone(),
                source,
            }));
        }
    };
    String::from_utf8(bytes).map_err(|_| {
        // The issues crate says where the bad byte is, and what to do.
        match agentpod_issues::load_mapped(file, &target.mapping) {
            Err(error) => PromoteError::Read(error),
            Ok(_) => PromoteError::Read(agentpod_issues::IssuesError::Read {
                file: file.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
            }),
        }
    })
}

/// The set's issues as a run reads them; none for an empty file.
fn existing_issues(target: &SetTarget, text: &str) -> Result<Vec<Issue>, PromoteError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    agentpod_issues::load_mapped(&target.file, &target.mapping).map_err(PromoteError::Read)
}

/// `preferred` when no issue has it, else the first free `preferred-p1`, `-p2`, ….
fn free_id(preferred: &str, existing: &[Issue]) -> String {
    let taken = |id: &str| existing.iter().any(|issue| issue.id == id);
    if !taken(preferred) {
        return preferred.to_owned();
    }
    (1..)
        .map(|n| format!("{preferred}-p{n}"))
        .find(|id| !taken(id))
        .unwrap_or_else(|| preferred.to_owned())
}

fn append_line(text: &str, record: &Value) -> String {
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&record.to_string());
    out.push('\n');
    out
}

/// `text` with its 1-based `line` replaced by `record`; every other byte kept.
fn replace_line(text: &str, line: usize, record: &Value) -> String {
    text.split_inclusive('\n')
        .enumerate()
        .map(|(index, original)| {
            if index + 1 == line {
                let ending = if original.ends_with('\n') { "\n" } else { "" };
                format!("{record}{ending}")
            } else {
                original.to_owned()
            }
        })
        .collect()
}

/// Writes `text` to a temporary file beside `file` (same permissions), then renames it over
/// `file`: readers see the old file or the new one, never half of one.
pub(crate) fn write_atomically(file: &Path, text: &str) -> Result<(), PromoteError> {
    let failure = |source: std::io::Error| PromoteError::Write {
        file: file.to_path_buf(),
        source,
    };
    let directory = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::NamedTempFile::new_in(directory).map_err(failure)?;
    temporary.write_all(text.as_bytes()).map_err(failure)?;
    temporary.as_file().sync_all().map_err(failure)?;
    if let Ok(metadata) = std::fs::metadata(file) {
        std::fs::set_permissions(temporary.path(), metadata.permissions()).map_err(failure)?;
    }
    temporary
        .persist(file)
        .map_err(|error| failure(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn candidate(id: &str, subject: &str, category: &str) -> Candidate {
        Candidate {
            preferred_id: id.into(),
            fields: json!({"subject": subject})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            expected: json!({"category": category})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            provenance: json!({"source": "test"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn target(file: &Path) -> SetTarget {
        SetTarget {
            file: file.to_path_buf(),
            mapping: IssueMapping::default(),
        }
    }

    const SET: &str = "{\"id\": \"T-1\", \"subject\": \"refund\", \"expected\": {\"category\": \"billing\"}}\n\
                       {\"id\": \"T-1-p1\", \"subject\": \"other\", \"expected\": {\"category\": \"bug\"}}";

    #[test]
    fn a_new_issue_is_appended_under_the_first_free_id_and_the_old_lines_are_kept() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("set.jsonl");
        std::fs::write(&file, SET).unwrap();
        let added = add_to_set(&target(&file), &candidate("T-1", "login", "auth"), false).unwrap();
        assert_eq!(
            added,
            Added {
                id: "T-1-p2".into(),
                replaced: false,
                issues: 3
            }
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with(&format!("{SET}\n")), "{text}");
        let issues = agentpod_issues::load(&file).unwrap();
        let last = issues.last().unwrap();
        assert_eq!(last.id, "T-1-p2");
        assert_eq!(
            last.expected,
            json!({"category": "auth"}).as_object().cloned()
        );
        assert_eq!(
            last.agent_view(),
            json!({"id": "T-1-p2", "subject": "login"})
        );
    }

    #[test]
    fn a_free_id_is_kept_and_a_missing_file_is_an_empty_set() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("new.jsonl");
        let added = add_to_set(&target(&file), &candidate("T-9", "x", "y"), false).unwrap();
        assert_eq!(added.id, "T-9");
        assert_eq!(agentpod_issues::load(&file).unwrap().len(), 1);
    }

    #[test]
    fn the_same_fields_are_refused_and_replace_gives_another_answer_in_place() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("set.jsonl");
        std::fs::write(&file, SET).unwrap();
        let same = add_to_set(&target(&file), &candidate("X", "refund", "billing"), false);
        assert!(
            matches!(&same, Err(PromoteError::Duplicate { existing, .. }) if existing == "T-1"),
            "{same:?}"
        );
        let other = add_to_set(&target(&file), &candidate("X", "refund", "refunds"), false);
        assert!(
            matches!(&other, Err(PromoteError::ConflictingAnswer { existing, .. }) if existing == "T-1"),
            "{other:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            SET,
            "refusals write nothing"
        );
        let replaced =
            add_to_set(&target(&file), &candidate("X", "refund", "refunds"), true).unwrap();
        assert_eq!(
            replaced,
            Added {
                id: "T-1".into(),
                replaced: true,
                issues: 2
            }
        );
        let issues = agentpod_issues::load(&file).unwrap();
        assert_eq!(issues[0].id, "T-1");
        assert_eq!(
            issues[0].expected,
            json!({"category": "refunds"}).as_object().cloned()
        );
        assert_eq!(issues[1].id, "T-1-p1", "the other line is untouched");
    }

    #[test]
    fn a_csv_set_is_refused_with_what_to_do() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("set.csv");
        std::fs::write(&file, "id,subject\n1,a\n").unwrap();
        let error = add_to_set(&target(&file), &candidate("1", "b", "c"), false).unwrap_err();
        assert!(
            error.to_string().contains("convert the set to JSON lines"),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "id,subject\n1,a\n");
    }
}
