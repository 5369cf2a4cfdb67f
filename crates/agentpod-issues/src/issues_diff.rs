//! Two versions of an evaluation set compared by issue id: which issues were added, removed, or
//! changed (the same id with other fields or another expected answer, and which keys differ).

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Issue;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IssuesDiff {
    /// Ids only the second set has, in its order.
    pub added: Vec<String>,
    /// Ids only the first set has, in its order.
    pub removed: Vec<String>,
    /// Ids in both whose fields or expected answer differ, in the second set's order.
    pub changed: Vec<ChangedIssue>,
    /// Ids in both, the same in both.
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedIssue {
    pub id: String,
    /// The keys whose values differ, sorted: a field's name (`subject`), or `expected.<name>`
    /// for the expected answer's.
    pub keys: Vec<String>,
}

impl IssuesDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares `before` with `after`, issue by issue id.
pub fn diff_issues(before: &[Issue], after: &[Issue]) -> IssuesDiff {
    let earlier: HashMap<&str, &Issue> = before
        .iter()
        .map(|issue| (issue.id.as_str(), issue))
        .collect();
    let later_ids: BTreeSet<&str> = after.iter().map(|issue| issue.id.as_str()).collect();
    let mut diff = IssuesDiff::default();
    for issue in after {
        match earlier.get(issue.id.as_str()) {
            None => diff.added.push(issue.id.clone()),
            Some(old) => {
                let mut keys = differing_keys(&old.fields, &issue.fields, "");
                keys.extend(differing_keys(
                    old.expected.as_ref().unwrap_or(&Map::new()),
                    issue.expected.as_ref().unwrap_or(&Map::new()),
                    "expected.",
                ));
                if keys.is_empty() {
                    diff.unchanged += 1;
                } else {
                    keys.sort();
                    diff.changed.push(ChangedIssue {
                        id: issue.id.clone(),
                        keys,
                    });
                }
            }
        }
    }
    diff.removed = before
        .iter()
        .filter(|issue| !later_ids.contains(issue.id.as_str()))
        .map(|issue| issue.id.clone())
        .collect();
    diff
}

fn differing_keys(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    prefix: &str,
) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        // Where an issue came from is not what it asks: a re-import stamps a new time.
        .filter(|key| !(prefix.is_empty() && key.as_str() == crate::PROVENANCE_FIELD))
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| format!("{prefix}{key}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issue(id: &str, fields: Value, expected: Option<Value>) -> Issue {
        Issue {
            id: id.to_owned(),
            fields: fields.as_object().cloned().unwrap_or_default(),
            expected: expected.and_then(|expected| expected.as_object().cloned()),
            line: 1,
        }
    }

    #[test]
    fn added_removed_and_changed_issues_are_told_apart() {
        let before = [
            issue(
                "1",
                json!({"subject": "refund"}),
                Some(json!({"category": "billing"})),
            ),
            issue("2", json!({"subject": "login"}), None),
            issue(
                "3",
                json!({"subject": "crash"}),
                Some(json!({"category": "bug"})),
            ),
        ];
        let after = [
            issue(
                "3",
                json!({"subject": "crash"}),
                Some(json!({"category": "bug"})),
            ),
            issue("4", json!({"subject": "new"}), None),
            issue(
                "1",
                json!({"subject": "refund please", "priority": "high"}),
                Some(json!({"category": "payments"})),
            ),
        ];
        let diff = diff_issues(&before, &after);
        assert_eq!(diff.added, ["4"]);
        assert_eq!(diff.removed, ["2"]);
        assert_eq!(
            diff.changed,
            [ChangedIssue {
                id: "1".to_owned(),
                keys: vec![
                    "expected.category".to_owned(),
                    "priority".to_owned(),
                    "subject".to_owned()
                ],
            }]
        );
        assert_eq!(diff.unchanged, 1);
        assert!(!diff.is_empty());
    }

    #[test]
    fn the_same_issues_in_another_order_do_not_differ() {
        let first = [
            issue("a", json!({"x": 1}), None),
            issue("b", json!({"x": 2}), Some(json!({"y": true}))),
        ];
        let second = [first[1].clone(), first[0].clone()];
        let diff = diff_issues(&first, &second);
        assert!(diff.is_empty());
        assert_eq!(diff.unchanged, 2);
    }

    #[test]
    fn an_expected_answer_added_or_taken_away_is_a_change() {
        let before = [issue("a", json!({}), None)];
        let after = [issue("a", json!({}), Some(json!({"label": "bug"})))];
        assert_eq!(
            diff_issues(&before, &after).changed[0].keys,
            ["expected.label"]
        );
    }

    #[test]
    fn a_new_provenance_alone_is_no_change() {
        let before = [issue(
            "1",
            json!({"title": "x", "provenance": {"imported_at": "2026-12-01T00:00:00Z"}}),
            Some(json!({"kind": "bug"})),
        )];
        let after = [issue(
            "1",
            json!({"title": "x", "provenance": {"imported_at": "2026-12-03T00:00:00Z"}}),
            Some(json!({"kind": "bug"})),
        )];
        let diff = diff_issues(&before, &after);
        assert!(diff.changed.is_empty(), "{diff:?}");
        assert_eq!(diff.unchanged, 1);
    }
}
