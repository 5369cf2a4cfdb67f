//! The gold-actions grader: the database after the agent, against a second clone after
//! the replay of the gold actions. Equal states pass whatever order the writes came in;
//! otherwise the check carries the rows that differ.

use agentpod_db::{StateSnapshot, diff_states};
use serde_json::Value;

use crate::Check;

/// `expected` is the snapshot of the gold replay, `actual` the agent's; take both with the same
/// tables and ignored columns.
#[must_use]
pub fn grade_gold_state(expected: &StateSnapshot, actual: &StateSnapshot) -> Check {
    let diff = diff_states(expected, actual);
    let actual = if diff.is_empty() {
        "the same state".to_owned()
    } else {
        // One line, so the grade's explanation stays one line too.
        diff.to_string()
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ")
    };
    Check {
        name: "gold state".to_owned(),
        passed: diff.is_empty(),
        expected: Value::String("the state the gold actions reach".to_owned()),
        actual: Value::String(actual),
    }
}
