//! Which field of the issues looks like the answer: one named like an answer (`label`,
//! `category`, `status`…) or one with few distinct short values across the issues — what a
//! classification export's label column looks like. Named in the help when no grader is set.

use std::collections::{BTreeMap, BTreeSet};

use agentpod_issues::{Issue, is_kept_from_agent};
use serde_json::Value;

/// Field names that usually hold the answer of a labelled issue.
const ANSWER_NAMES: &[&str] = &[
    "label",
    "labels",
    "category",
    "priority",
    "answer",
    "expected",
    "resolution",
    "status",
    "type",
];

/// A value longer than this is text to read, not a label.
const LONGEST_LABEL: usize = 40;

/// A field that may be the answer, with what its values look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AnswerColumn {
    pub(super) field: String,
    /// Issues that have the field.
    pub(super) present: usize,
    pub(super) distinct: usize,
    /// The first few distinct values, in file order.
    pub(super) examples: Vec<String>,
}

/// The fields the agent is shown (the gold actions, expected outputs and provenance never are).
pub(super) fn visible_fields(issues: &[Issue]) -> BTreeSet<&str> {
    issues
        .iter()
        .flat_map(|issue| issue.fields.keys().map(String::as_str))
        .filter(|field| !is_kept_from_agent(field))
        .collect()
}

/// Likely answer fields, most likely first: answer-like names, then the fields with the fewest
/// distinct values.
pub(super) fn likely_answer_columns(issues: &[Issue]) -> Vec<AnswerColumn> {
    let mut columns: Vec<(bool, AnswerColumn)> = visible_fields(issues)
        .into_iter()
        .filter_map(|field| {
            let column = summarize(issues, field)?;
            let named = ANSWER_NAMES.contains(&field.to_lowercase().as_str());
            (named || few_values(&column, issues.len())).then_some((named, column))
        })
        .collect();
    columns.sort_by(|(left_named, left), (right_named, right)| {
        right_named
            .cmp(left_named)
            .then(left.distinct.cmp(&right.distinct))
            .then(right.present.cmp(&left.present))
            .then(left.field.cmp(&right.field))
    });
    columns.into_iter().map(|(_, column)| column).collect()
}

/// Few distinct values for many issues: at most a third as many values as issues (and at most
/// 20), present in most issues. A field the same in every issue says nothing, unless named so.
fn few_values(column: &AnswerColumn, issues: usize) -> bool {
    issues >= 4
        && column.present * 2 >= issues
        && column.distinct >= 2
        && column.distinct <= (issues / 3).clamp(2, 20)
}

/// The field's values, when every one is a short scalar.
fn summarize(issues: &[Issue], field: &str) -> Option<AnswerColumn> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut examples = Vec::new();
    let mut present = 0;
    for value in issues.iter().filter_map(|issue| issue.fields.get(field)) {
        let text = match value {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => return None,
        };
        if text.chars().count() > LONGEST_LABEL {
            return None;
        }
        present += 1;
        let count = counts.entry(text.clone()).or_default();
        if *count == 0 && examples.len() < 3 {
            examples.push(text);
        }
        *count += 1;
    }
    (present > 0).then(|| AnswerColumn {
        field: field.to_owned(),
        present,
        distinct: counts.len(),
        examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issue(id: usize, fields: Value) -> Issue {
        Issue {
            id: id.to_string(),
            fields: fields.as_object().cloned().unwrap_or_default(),
            expected: None,
            line: id + 1,
        }
    }

    #[test]
    fn a_label_column_is_found_by_its_few_values() {
        let issues: Vec<Issue> = (0..12)
            .map(|index| {
                issue(
                    index,
                    json!({
                        "title": format!("issue number {index}"),
                        "body": "x".repeat(50),
                        "kind_of_thing": (["bug", "feature", "question"][index % 3]),
                    }),
                )
            })
            .collect();
        let columns = likely_answer_columns(&issues);
        assert_eq!(columns.len(), 1, "{columns:?}");
        assert_eq!(columns[0].field, "kind_of_thing");
        assert_eq!(columns[0].distinct, 3);
        assert_eq!(columns[0].examples, ["bug", "feature", "question"]);
    }

    #[test]
    fn answer_names_come_first_and_free_text_is_never_an_answer() {
        let issues: Vec<Issue> = (0..6)
            .map(|index| {
                issue(
                    index,
                    json!({
                        "team": (["a", "b"][index % 2]),
                        "Category": format!("c{index}"),
                        "status": "y".repeat(60),
                    }),
                )
            })
            .collect();
        let names: Vec<String> = likely_answer_columns(&issues)
            .into_iter()
            .map(|column| column.field)
            .collect();
        assert_eq!(names, ["Category", "team"]);
    }

    #[test]
    fn the_gold_actions_are_not_shown_so_not_an_answer_column() {
        let issues = vec![issue(1, json!({"gold_actions": "x", "subject": "s"}))];
        assert_eq!(visible_fields(&issues), BTreeSet::from(["subject"]));
    }
}
