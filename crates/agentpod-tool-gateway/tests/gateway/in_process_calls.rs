//! A grader's tool calls from inside agentpod (`ToolGateway::call_tool`, the gold actions'
//! replay) go the agent's way: the same tools as the issue's role, the same error text, the same
//! record; and only for a live issue.

use agentpod_tool_gateway::{ToolCallOutcome, ToolConfig, ToolGateway, ToolLimits};
use serde_json::{Map, Value, json};

use crate::support::{LocalPostgres, TestResult};

fn arguments(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn in_process_calls_run_as_the_issue_and_are_recorded() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_in_process").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue("gold", &database_url, ToolLimits::default())?;
    let token = access.token.as_str();

    let written = gateway
        .call_tool(
            token,
            "execute",
            arguments(json!({ "sql": "INSERT INTO notes (body) VALUES ('gold')" })),
        )
        .await;
    assert_eq!(written, Ok(json!({ "rows_affected": 1 }).to_string()));
    let read = gateway
        .call_tool(
            token,
            "query",
            arguments(json!({ "sql": "SELECT body FROM notes" })),
        )
        .await?;
    assert_eq!(
        serde_json::from_str::<Value>(&read)?["rows"],
        json!([{ "body": "gold" }])
    );
    let refused = gateway
        .call_tool(
            token,
            "execute",
            arguments(json!({ "sql": "INSERT INTO no_such_table VALUES (1)" })),
        )
        .await;
    assert_eq!(
        refused,
        Err("relation \"no_such_table\" does not exist (SQLSTATE 42P01)".to_owned())
    );
    let unknown = gateway.call_tool(token, "no_such_tool", Map::new()).await;
    assert_eq!(unknown, Err("unknown tool \"no_such_tool\"".to_owned()));

    let record = gateway.finish_issue(token);
    let outcomes: Vec<ToolCallOutcome> = record.calls.iter().map(|call| call.outcome).collect();
    use ToolCallOutcome::{Error, Ok as Done, UnknownTool};
    assert_eq!(outcomes, [Done, Done, Error, UnknownTool]);
    assert!(record.calls.iter().all(|call| call.issue_id == "gold"));

    let revoked = gateway
        .call_tool(token, "query", arguments(json!({ "sql": "SELECT 1" })))
        .await;
    assert_eq!(
        revoked,
        Err("the issue's tool token is not live".to_owned())
    );
    gateway.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_call_whose_arguments_the_record_would_cut_does_not_run() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_padded").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue("padded", &database_url, ToolLimits::default())?;
    let token = access.token.as_str();
    // Padding before the statement: on record, only padding would be left.
    let padded = format!(
        "/* {} */ INSERT INTO notes (body) VALUES ('hidden')",
        " ".repeat(70_000)
    );
    let refused = gateway
        .call_tool(token, "execute", arguments(json!({ "sql": padded })))
        .await;
    let message = refused.expect_err("refused");
    assert!(message.contains("may be at most 65536"), "{message}");
    let read = gateway
        .call_tool(
            token,
            "query",
            arguments(json!({ "sql": "SELECT count(*) AS n FROM notes WHERE body = 'hidden'" })),
        )
        .await?;
    assert_eq!(
        serde_json::from_str::<Value>(&read)?["rows"],
        json!([{ "n": 0 }])
    );
    let record = gateway.finish_issue(token);
    assert_eq!(record.calls[0].outcome, ToolCallOutcome::Error);
    gateway.shutdown().await;
    Ok(())
}
