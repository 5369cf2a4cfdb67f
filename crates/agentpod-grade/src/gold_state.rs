//! The gold-actions grader: the database after the agent, against a second clone after
//! the replay of the gold actions. Equal states pass whatever order the writes came in;
//! otherwise the check carries the rows that differ. Gold actions that failed during the replay
//! (and were skipped, as `gold_action_errors: skip` says) are named in the check's expected
//! side: they are part of how the expected state came about.

use std::fmt;

use agentpod_db::{StateSnapshot, diff_states};
use serde_json::Value;

use crate::Check;

/// A gold action the tool layer answered with an error: it changed nothing (its call was a
/// transaction of its own, rolled back) and the replay went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedGoldAction {
    /// 1-based, in the list.
    pub number: usize,
    pub tool: String,
    /// The error text the agent would have read: for a database error, its message and SQLSTATE.
    pub error: String,
}

impl fmt::Display for FailedGoldAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "gold action {} ({}) failed and changed nothing: {}",
            self.number, self.tool, self.error
        )
    }
}

/// `expected` is the snapshot of the gold replay, `actual` the agent's; take both with the same
/// tables and ignored columns. `failed` are the gold actions the replay skipped.
#[must_use]
pub fn grade_gold_state(
    expected: &StateSnapshot,
    actual: &StateSnapshot,
    failed: &[FailedGoldAction],
) -> Check {
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
    let mut expected = "the state the gold actions reach".to_owned();
    if !failed.is_empty() {
        let failures: Vec<String> = failed.iter().map(ToString::to_string).collect();
        expected.push_str(&format!(" ({})", failures.join("; ")));
    }
    Check {
        name: "gold state".to_owned(),
        passed: diff.is_empty(),
        expected: Value::String(expected),
        actual: Value::String(actual),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_gold_actions_are_named_in_the_expected_side() {
        let state = StateSnapshot { tables: Vec::new() };
        let failed = [FailedGoldAction {
            number: 2,
            tool: "cancel_order".to_owned(),
            error: "order 7 is not pending (SQLSTATE P0001)".to_owned(),
        }];
        let check = grade_gold_state(&state, &state, &failed);
        assert!(check.passed);
        assert_eq!(
            check.expected,
            Value::String(
                "the state the gold actions reach (gold action 2 (cancel_order) failed and \
                 changed nothing: order 7 is not pending (SQLSTATE P0001))"
                    .to_owned()
            )
        );
        assert_eq!(
            grade_gold_state(&state, &state, &[]).expected,
            Value::String("the state the gold actions reach".to_owned())
        );
    }
}
