//! The graders the spec's `grading` section asks for, beyond the answer's fields: SQL assertions
//! on the issue's database after the agent ended, the final state against the replay of the
//! issue's gold actions on a second clone, no boundary violations, no budget stops. Each adds
//! checks to the issue's grade; an agent that errored is not graded.
//!
//! Gold actions are tool calls of any tool the pod offers — `query`, `execute`, `list_tables`,
//! the SQL-function tools, the proxied MCP servers' tools — and are replayed through the pod's
//! own tool gateway, as the gold clone's role (a member of the agent group, like an issue's), so
//! a gold action means exactly what the same call by the agent means. Each call is a transaction
//! of its own: one that fails changes nothing, as if rolled back to a savepoint taken before it.
//! `gold_action_errors: skip` (the default, tau-bench's rule) records it in the check and goes
//! on; `fail` stops the replay and fails the check.

use agentpod_db::{IssueDatabase, PodDatabase, snapshot_differences};
use agentpod_error_chain::error_chain;
use agentpod_grade::{
    Check, FailedGoldAction, MadeToolCall, grade_budgets, grade_gold_state, grade_no_violations,
    grade_sql_assertions, grade_tool_calls,
};
use agentpod_issues::Issue;
use agentpod_spec::{GoldActionErrors, GradingSpec};
use agentpod_store::{StepDetail, StepRecord, ToolCallOutcome};
use agentpod_tool_gateway::{ToolGateway, ToolLimits};
use serde_json::{Map, Value, json};

use crate::error::GoldStateError;

/// Checks on the issue's database: SQL assertions, then the gold state. Run after the agent
/// ended and its boundary events were read, before the database is dropped. `tools` is the
/// pod's tool gateway, which replays the gold actions.
pub(crate) async fn database_checks(
    grading: &GradingSpec,
    database: &PodDatabase,
    tools: &ToolGateway,
    issue_database: &IssueDatabase,
    issue: &Issue,
) -> Vec<Check> {
    let mut checks = Vec::new();
    if !grading.sql.is_empty() {
        let mut fields = match issue.agent_view() {
            Value::Object(fields) => fields,
            _ => Default::default(),
        };
        if let Some(expected) = &issue.expected {
            fields.insert("expected".to_string(), Value::Object(expected.clone()));
        }
        match grade_sql_assertions(&issue_database.admin_url, &grading.sql, &fields).await {
            Ok(sql_checks) => checks.extend(sql_checks),
            Err(error) => checks.push(failed(
                "sql assertions",
                json!("run"),
                json!(error_chain(&error)),
            )),
        }
    }
    if grading.gold_actions
        && let Some(actions) = issue.gold_actions()
    {
        let gold = GoldReplay {
            grading,
            database,
            tools,
        };
        checks.push(gold.check(issue_database, issue, actions).await);
    }
    checks
}

/// What the gold-state check needs of the pod.
struct GoldReplay<'a> {
    grading: &'a GradingSpec,
    database: &'a PodDatabase,
    tools: &'a ToolGateway,
}

impl GoldReplay<'_> {
    /// Replays the gold actions on a fresh clone, then compares both final states table by
    /// table.
    async fn check(&self, issue_database: &IssueDatabase, issue: &Issue, actions: &Value) -> Check {
        // Malformed gold actions are the evaluation set's mistake: said before any clone.
        let actions = match tool_calls(actions) {
            Ok(actions) => actions,
            Err(error) => return failed_replay(&error),
        };
        let label = format!("{}-gold", issue.id);
        let gold = match self.database.create_grading_database(&label).await {
            Ok(gold) => gold,
            Err(error) => {
                return failed(
                    "gold state",
                    json!("a gold clone"),
                    json!(error_chain(&GoldStateError::Clone(error))),
                );
            }
        };
        let check = async {
            let skipped = self.replay(&label, &gold.agent_url, actions).await?;
            // Only the tables whose contents differ are read out and diffed.
            let (expected, actual) = snapshot_differences(
                &gold.admin_url,
                &issue_database.admin_url,
                &self.grading.ignore_columns,
            )
            .await
            .map_err(GoldStateError::Snapshot)?;
            Ok::<Check, GoldStateError>(grade_gold_state(&expected, &actual, &skipped))
        }
        .await
        .unwrap_or_else(|error| failed_replay(&error));
        self.database.retire_issue_database(gold);
        check
    }

    /// Calls each action through the tool gateway for the gold clone, in order; returns the
    /// actions that failed and were skipped.
    async fn replay(
        &self,
        label: &str,
        agent_url: &str,
        actions: Vec<GoldToolCall>,
    ) -> Result<Vec<FailedGoldAction>, GoldStateError> {
        // The agent's limits are the agent's: the gold replay has none.
        let access = self
            .tools
            .register_issue(label, agent_url, ToolLimits::default())
            .map_err(GoldStateError::Register)?;
        let token = access.token;
        let mut skipped = Vec::new();
        let mut outcome = Ok(());
        for action in actions {
            let Err(error) = self
                .tools
                .call_tool(&token, &action.tool, action.arguments)
                .await
            else {
                continue;
            };
            match self.grading.gold_action_errors {
                GoldActionErrors::Skip => skipped.push(FailedGoldAction {
                    number: action.number,
                    tool: action.tool,
                    error,
                }),
                GoldActionErrors::Fail => {
                    outcome = Err(GoldStateError::Action {
                        number: action.number,
                        message: error,
                    });
                    break;
                }
            }
        }
        // Revokes the token and closes the clone's connections; the calls' record is not the
        // agent's and is not kept.
        self.tools.finish_issue(&token);
        outcome.map(|()| skipped)
    }
}

/// One gold action: `{"tool": "<name>", "arguments": {...}}`; `arguments` may be left out when
/// the tool takes none.
pub(crate) struct GoldToolCall {
    number: usize,
    tool: String,
    arguments: Map<String, Value>,
}

/// The issue's gold actions read as tool calls, or why they are not; also checked before a run.
pub(crate) fn tool_calls(actions: &Value) -> Result<Vec<GoldToolCall>, GoldStateError> {
    let actions = actions.as_array().ok_or(GoldStateError::NotAList)?;
    actions
        .iter()
        .enumerate()
        .map(|(index, action)| {
            let number = index + 1;
            let not_a_call = |why: &str| GoldStateError::NotAToolCall {
                number,
                why: why.to_owned(),
            };
            let Value::Object(action) = action else {
                return Err(not_a_call("it is not an object"));
            };
            let tool = match action.get("tool") {
                Some(Value::String(tool)) if !tool.is_empty() => tool.clone(),
                _ => return Err(not_a_call("`tool` must name a tool")),
            };
            let arguments = match action.get("arguments") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(arguments)) => arguments.clone(),
                Some(_) => return Err(not_a_call("`arguments` must be an object")),
            };
            if let Some(unknown) = action
                .keys()
                .find(|key| !matches!(key.as_str(), "tool" | "arguments"))
            {
                return Err(not_a_call(&format!(
                    "unknown key `{unknown}` (a gold action has `tool` and `arguments`)"
                )));
            }
            Ok(GoldToolCall {
                number,
                tool,
                arguments,
            })
        })
        .collect()
}

fn failed_replay(error: &GoldStateError) -> Check {
    failed(
        "gold state",
        json!("the gold actions replayed"),
        json!(error_chain(error)),
    )
}

/// The issue's expected tool calls against the calls the gateway recorded for the agent (a call
/// refused because the tool-call budget was spent never ran, and is not one of them).
pub(crate) fn tool_call_check(
    grading: &GradingSpec,
    issue: &Issue,
    steps: &[StepRecord],
) -> Option<Check> {
    let expected = issue.expected_tool_calls()?;
    let made: Vec<MadeToolCall> = steps
        .iter()
        .filter_map(|step| match &step.detail {
            StepDetail::ToolCall(call) if call.outcome != ToolCallOutcome::Limit => {
                Some(MadeToolCall {
                    tool: call.tool.clone(),
                    arguments: call.arguments.clone(),
                })
            }
            _ => None,
        })
        .collect();
    grade_tool_calls(Some(expected), &made, grading.tool_calls)
}

/// The boundary and budget checks, from what the run recorded.
pub(crate) fn limit_checks(
    grading: &GradingSpec,
    violations: usize,
    budget_stops: u32,
) -> Vec<Check> {
    let mut checks = Vec::new();
    if grading.no_violations {
        checks.push(grade_no_violations(violations));
    }
    if grading.budgets {
        checks.push(grade_budgets(budget_stops));
    }
    checks
}

fn failed(name: &str, expected: Value, actual: Value) -> Check {
    Check {
        name: name.to_string(),
        passed: false,
        expected,
        actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(actions: Value) -> String {
        match tool_calls(&actions) {
            Ok(_) => panic!("{actions} was read as tool calls"),
            Err(error) => error_chain(&error),
        }
    }

    #[test]
    fn gold_actions_are_tool_calls_of_any_tool() {
        let actions = json!([
            {"tool": "execute", "arguments": {"sql": "UPDATE t SET x = 1"}},
            {"tool": "cancel_order", "arguments": {"order_id": "O1", "reason": "no longer needed"}},
            {"tool": "files.write", "arguments": {"path": "a.txt"}},
            {"tool": "list_tables"},
        ]);
        let calls = tool_calls(&actions).unwrap();
        let read: Vec<(usize, &str, usize)> = calls
            .iter()
            .map(|call| (call.number, call.tool.as_str(), call.arguments.len()))
            .collect();
        assert_eq!(
            read,
            [
                (1, "execute", 1),
                (2, "cancel_order", 2),
                (3, "files.write", 1),
                (4, "list_tables", 0)
            ]
        );
    }

    #[test]
    fn a_gold_action_that_is_not_a_tool_call_is_named() {
        assert_eq!(
            parse_error(json!({"tool": "execute"})),
            "`gold_actions` must be a list of tool calls"
        );
        assert_eq!(
            parse_error(json!([{"tool": "query", "arguments": {}}, "DELETE FROM t"])),
            "gold action 2 is not a tool call: it is not an object"
        );
        assert_eq!(
            parse_error(json!([{"name": "query"}])),
            "gold action 1 is not a tool call: `tool` must name a tool"
        );
        assert_eq!(
            parse_error(json!([{"tool": "query", "arguments": "SELECT 1"}])),
            "gold action 1 is not a tool call: `arguments` must be an object"
        );
        assert_eq!(
            parse_error(json!([{"tool": "query", "arguments": {}, "args": {}}])),
            "gold action 1 is not a tool call: unknown key `args` (a gold action has `tool` and `arguments`)"
        );
    }
}
