//! The graders the spec's `grading` section asks for, beyond the answer's fields: SQL assertions
//! on the issue's database after the agent ended, the final state against the replay of the
//! issue's gold actions on a second clone, no boundary violations, no budget stops. Each adds
//! checks to the issue's grade; an agent that errored is not graded.

use agentpod_db::{IssueDatabase, PodDatabase, snapshot_differences};
use agentpod_error_chain::error_chain;
use agentpod_grade::{
    Check, grade_budgets, grade_gold_state, grade_no_violations, grade_sql_assertions,
};
use agentpod_issues::Issue;
use agentpod_spec::GradingSpec;
use agentpod_tool_gateway::describe_database_error;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::error::GoldStateError;

/// Checks on the issue's database: SQL assertions, then the gold state. Run after the agent
/// ended and its boundary events were read, before the database is dropped.
pub(crate) async fn database_checks(
    grading: &GradingSpec,
    database: &PodDatabase,
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
        checks.push(gold_state_check(grading, database, issue_database, issue, actions).await);
    }
    checks
}

/// Replays the gold actions on a fresh clone (as the agent role, as an agent would have), then
/// compares both final states table by table.
async fn gold_state_check(
    grading: &GradingSpec,
    database: &PodDatabase,
    issue_database: &IssueDatabase,
    issue: &Issue,
    actions: &Value,
) -> Check {
    let gold = match database
        .create_grading_database(&format!("{}-gold", issue.id))
        .await
    {
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
        replay(&gold.agent_url, actions).await?;
        // Only the tables whose contents differ are read out and diffed.
        let (expected, actual) = snapshot_differences(
            &gold.admin_url,
            &issue_database.admin_url,
            &grading.ignore_columns,
        )
        .await
        .map_err(GoldStateError::Snapshot)?;
        Ok::<Check, GoldStateError>(grade_gold_state(&expected, &actual))
    }
    .await
    .unwrap_or_else(|error| {
        failed(
            "gold state",
            json!("the gold actions replayed"),
            json!(error_chain(&error)),
        )
    });
    database.retire_issue_database(gold);
    check
}

/// Gold actions are tool calls: `{"tool": "execute", "arguments": {"sql": "..."}}` (and `query`,
/// which changes nothing and is skipped).
async fn replay(agent_url: &str, actions: &Value) -> Result<(), GoldStateError> {
    let actions = actions.as_array().ok_or(GoldStateError::NotAList)?;
    let mut connection = PgConnection::connect(agent_url)
        .await
        .map_err(GoldStateError::Connect)?;
    for (index, action) in actions.iter().enumerate() {
        let number = index + 1;
        let tool = action["tool"].as_str().unwrap_or_default();
        let sql = action["arguments"]["sql"].as_str().unwrap_or_default();
        match tool {
            "execute" => {
                sqlx::query(AssertSqlSafe(sql.to_string()))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| GoldStateError::Action {
                        number,
                        message: describe_database_error(&error),
                    })?;
            }
            "query" | "list_tables" => {}
            other => {
                return Err(GoldStateError::UnknownTool {
                    number,
                    tool: other.to_string(),
                });
            }
        }
    }
    let _ = connection.close().await;
    Ok(())
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
