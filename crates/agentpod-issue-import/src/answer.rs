//! Which part of an imported issue is the answer: named fields (`--expected priority`) and the
//! labels or tags under a prefix (`--expected-label-prefix "type: "`). The answer is taken out
//! of what the agent sees, so an issues file written with one is ready for a run.

use serde_json::{Map, Value};

use crate::{ImportError, Tracker, TrackerIssue};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerSelection {
    /// Issue fields (as named in the tracker's table in README.md) that are the answer.
    pub fields: Vec<String>,
    /// Labels (GitHub, Jira) or tags (Zendesk, Freshdesk) starting with this prefix (ignoring
    /// case) are the answer, under the prefix's name (`type: bug` → `type` = `bug`), and are
    /// taken off the agent's list.
    pub label_prefix: Option<String>,
}

impl AnswerSelection {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.label_prefix.is_none()
    }

    /// Every named field exists for this tracker.
    pub(crate) fn check(&self, tracker: Tracker) -> Result<(), ImportError> {
        let available = tracker.fields();
        for field in &self.fields {
            if !available.contains(&field.as_str()) {
                return Err(ImportError::UnknownAnswerField {
                    tracker: tracker.name(),
                    field: field.clone(),
                    suggestion: available
                        .iter()
                        .copied()
                        .map(|name| (strsim::damerau_levenshtein(field, name), name))
                        .filter(|(distance, name)| *distance <= (name.len() / 3).max(1))
                        .min_by_key(|(distance, _)| *distance)
                        .map(|(_, name)| name),
                    available: available.to_vec(),
                });
            }
        }
        Ok(())
    }

    /// Splits the answer off `issue`'s fields; `None` when the issue has no answer at all
    /// (nothing to grade it against).
    pub(crate) fn split(
        &self,
        tracker: Tracker,
        issue: &mut TrackerIssue,
    ) -> Option<Map<String, Value>> {
        let mut expected = Map::new();
        for field in &self.fields {
            if let Some(value) = issue.fields.remove(field)
                && !is_blank(&value)
            {
                expected.insert(field.clone(), value);
            }
            for revealing in tracker.reveals(field) {
                issue.fields.remove(*revealing);
            }
        }
        if let Some(prefix) = &self.label_prefix {
            let labels_field = tracker.labels_field();
            if let Some(Value::Array(labels)) = issue.fields.get_mut(labels_field) {
                let mut answers: Vec<String> = Vec::new();
                labels.retain(|label| {
                    match label.as_str().and_then(|label| strip_prefix(label, prefix)) {
                        Some(answer) => {
                            answers.push(answer.trim().to_owned());
                            false
                        }
                        None => true,
                    }
                });
                answers.sort();
                answers.dedup();
                let value = match answers.len() {
                    0 => None,
                    1 => answers.pop().map(Value::String),
                    _ => Some(Value::from(answers)),
                };
                if let Some(value) = value {
                    expected.insert(answer_name(prefix), value);
                }
            }
        }
        (!expected.is_empty()).then_some(expected)
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn strip_prefix<'a>(label: &'a str, prefix: &str) -> Option<&'a str> {
    let head = label.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &label[prefix.len()..])
        .filter(|rest| !rest.trim().is_empty())
}

/// The expected field a label prefix fills: its words in lowercase, `_` between them
/// (`"Type: "` → `type`, `kind/` → `kind`, `good first` → `good_first`); `label` if none.
pub fn answer_name(prefix: &str) -> String {
    let words: Vec<String> = prefix
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    match words.is_empty() {
        true => "label".to_owned(),
        false => words.join("_"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Provenance;
    use serde_json::json;

    fn issue(fields: Value) -> TrackerIssue {
        TrackerIssue {
            id: "1".into(),
            fields: fields.as_object().cloned().unwrap_or_default(),
            provenance: Provenance {
                source: "github",
                original_id: "1".into(),
                key: None,
                url: None,
                export_file: String::new(),
                imported_at: String::new(),
            },
        }
    }

    #[test]
    fn prefixed_labels_become_the_answer_and_leave_the_agents_list() {
        let selection = AnswerSelection {
            fields: vec!["state".into()],
            label_prefix: Some("Type: ".into()),
        };
        let mut issue =
            issue(json!({"labels": ["type: bug", "p1"], "state": "closed", "title": "x"}));
        let expected = selection.split(Tracker::Github, &mut issue);
        assert_eq!(
            expected.map(Value::Object),
            Some(json!({"type": "bug", "state": "closed"}))
        );
        assert_eq!(
            Value::Object(issue.fields),
            json!({"labels": ["p1"], "title": "x"})
        );
    }

    #[test]
    fn fields_that_give_the_answer_away_leave_with_it() {
        let selection = AnswerSelection {
            fields: vec!["state".into()],
            label_prefix: None,
        };
        let mut github =
            issue(json!({"state": "closed", "state_reason": "completed", "title": "x"}));
        selection.split(Tracker::Github, &mut github);
        assert_eq!(Value::Object(github.fields), json!({"title": "x"}));
        let selection = AnswerSelection {
            fields: vec!["resolution".into()],
            label_prefix: None,
        };
        let mut jira = issue(json!({"resolution": "Fixed", "status": "Done", "summary": "x"}));
        let expected = selection.split(Tracker::Jira, &mut jira);
        assert_eq!(
            expected.map(Value::Object),
            Some(json!({"resolution": "Fixed"}))
        );
        assert_eq!(Value::Object(jira.fields), json!({"summary": "x"}));
    }

    #[test]
    fn an_issue_without_any_answer_has_none() {
        let selection = AnswerSelection {
            fields: vec!["priority".into()],
            label_prefix: None,
        };
        let mut issue = issue(json!({"priority": "", "subject": "x"}));
        assert_eq!(selection.split(Tracker::Zendesk, &mut issue), None);
        assert!(
            !issue.fields.contains_key("priority"),
            "the blank answer is not the agent's either"
        );
    }

    #[test]
    fn unknown_answer_fields_are_named_with_a_suggestion() {
        let selection = AnswerSelection {
            fields: vec!["priorty".into()],
            label_prefix: None,
        };
        match selection.check(Tracker::Jira) {
            Err(ImportError::UnknownAnswerField { suggestion, .. }) => {
                assert_eq!(suggestion, Some("priority"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn answer_names_come_from_the_prefix_words() {
        assert_eq!(answer_name("Type: "), "type");
        assert_eq!(answer_name("kind/"), "kind");
        assert_eq!(answer_name("good first"), "good_first");
        assert_eq!(answer_name(":"), "label");
    }
}
