//! One issue (ticket): its id, the fields the agent sees, and the expected outcome it never sees.

use serde_json::{Map, Value};

/// One unit of work for the agent, as read from an issues file.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: String,
    /// Everything the agent is given besides the id.
    pub fields: Map<String, Value>,
    /// What a correct outcome looks like; for graders only.
    pub expected: Option<Map<String, Value>>,
    /// 1-based line in the issues file where the issue starts.
    pub line: usize,
}

/// The field holding the actions a correct agent would take, `[{tool, arguments}, …]`; for the
/// gold-actions grader only.
pub const GOLD_ACTIONS_FIELD: &str = "gold_actions";

/// The field holding what the agent's answer must say, `["10.00", "Black"]`: each a
/// case-insensitive substring of the answer, commas removed from both (tau-bench's rule); for the
/// expected-outputs grader only.
pub const EXPECTED_OUTPUTS_FIELD: &str = "expected_outputs";

/// The field holding the tool calls a correct agent makes, `[{tool, arguments: {name: matcher}}]`;
/// for the tool-call grader only.
pub const EXPECTED_TOOL_CALLS_FIELD: &str = "expected_tool_calls";

/// The field holding the issue's simulated customer (`{"turns": [...]}` or `{"persona": ...,
/// "instructions": ...}`): what the customer knows and wants is for the agent to find out by
/// asking, not to read. Not `customer`, which issues use for data the agent is meant to see.
pub const CUSTOMER_FIELD: &str = "simulated_customer";

/// The field holding a rubric of the issue's own for the LLM judge, added to the spec's.
pub const JUDGE_RUBRIC_FIELD: &str = "judge_rubric";

/// The field telling where an issue came from (`import-issues` writes it: the tracker, the
/// original key, its URL, when and from which export). Kept with the issue and the run, never
/// given to the agent: the tracker's page can show the resolution, that is, the answer.
pub const PROVENANCE_FIELD: &str = "provenance";

/// Fields kept whatever `issues.fields` selects: graders and people read them, agents never do.
pub(crate) const ALWAYS_KEPT_FIELDS: &[&str] = &[
    GOLD_ACTIONS_FIELD,
    EXPECTED_OUTPUTS_FIELD,
    EXPECTED_TOOL_CALLS_FIELD,
    CUSTOMER_FIELD,
    JUDGE_RUBRIC_FIELD,
    PROVENANCE_FIELD,
];

/// Whether `field` is one graders and people read and the agent is never given.
#[must_use]
pub fn is_kept_from_agent(field: &str) -> bool {
    ALWAYS_KEPT_FIELDS.contains(&field)
}

impl Issue {
    /// The issue as handed to the agent: `{"id": ..., ...fields}`.
    ///
    /// The expected outcome, the gold actions, the expected outputs, the expected tool calls,
    /// the simulated customer's script and the judge's rubric are left out on purpose:
    /// an agent that could
    /// read them would pass every grader without doing the work. So is the provenance: its
    /// tracker URL leads to the resolved issue.
    pub fn agent_view(&self) -> Value {
        let mut view = Map::with_capacity(self.fields.len() + 1);
        view.insert("id".to_owned(), Value::String(self.id.clone()));
        for (key, value) in &self.fields {
            if !is_kept_from_agent(key) {
                view.insert(key.clone(), value.clone());
            }
        }
        Value::Object(view)
    }

    /// The issue's gold actions as written: a list in JSON lines, the cell's text in CSV.
    pub fn gold_actions(&self) -> Option<&Value> {
        self.fields.get(GOLD_ACTIONS_FIELD)
    }

    /// The issue's expected outputs as written: a list in JSON lines, the cell's text in CSV.
    pub fn expected_outputs(&self) -> Option<&Value> {
        self.fields.get(EXPECTED_OUTPUTS_FIELD)
    }

    /// The tool calls the issue expects as written: a list in JSON lines, the cell's text in CSV.
    pub fn expected_tool_calls(&self) -> Option<&Value> {
        self.fields.get(EXPECTED_TOOL_CALLS_FIELD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agent_view_carries_id_and_fields_but_not_expected() {
        let issue = Issue {
            id: "42".to_owned(),
            fields: json!({"subject": "refund", "priority": 2})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            expected: json!({"status": "refunded"}).as_object().cloned(),
            line: 3,
        };
        let view = issue.agent_view();
        assert_eq!(
            view,
            json!({"id": "42", "subject": "refund", "priority": 2})
        );
        assert!(!view.to_string().contains("refunded"));
    }

    #[test]
    fn agent_view_leaves_out_the_expected_outputs() {
        let issue = Issue {
            id: "5".to_owned(),
            fields: json!({"ask": "total?", "expected_outputs": ["1,234.50"]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            expected: None,
            line: 1,
        };
        assert_eq!(issue.agent_view(), json!({"id": "5", "ask": "total?"}));
        assert_eq!(issue.expected_outputs(), Some(&json!(["1,234.50"])));
        assert!(is_kept_from_agent("expected_outputs") && !is_kept_from_agent("ask"));
    }

    #[test]
    fn agent_view_leaves_out_the_expected_tool_calls() {
        let calls = json!([{"tool": "cancel_order", "arguments": {"order_id": "O1"}}]);
        let issue = Issue {
            id: "8".to_owned(),
            fields: json!({"ask": "cancel O1", "expected_tool_calls": calls})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            expected: None,
            line: 1,
        };
        assert_eq!(issue.agent_view(), json!({"id": "8", "ask": "cancel O1"}));
        assert_eq!(issue.expected_tool_calls(), Some(&calls));
    }

    #[test]
    fn agent_view_leaves_out_the_provenance() {
        let issue = Issue {
            id: "9".to_owned(),
            fields: json!({"title": "crash", "provenance": {"url": "https://example.test/9"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            expected: None,
            line: 1,
        };
        assert_eq!(issue.agent_view(), json!({"id": "9", "title": "crash"}));
    }

    #[test]
    fn agent_view_leaves_out_the_gold_actions() {
        let gold = json!([{"tool": "execute", "arguments": {"sql": "UPDATE tickets SET status = 'closed'"}}]);
        let issue = Issue {
            id: "7".to_owned(),
            fields: json!({"subject": "refund", "gold_actions": gold})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            expected: None,
            line: 1,
        };
        assert_eq!(issue.agent_view(), json!({"id": "7", "subject": "refund"}));
        assert_eq!(issue.gold_actions(), Some(&gold));
    }
}
