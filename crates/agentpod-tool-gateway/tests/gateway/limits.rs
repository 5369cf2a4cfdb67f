//! `max_tool_calls`: calls past the budget get an error result and are recorded as limit stops;
//! an unknown tool is a protocol error, recorded, and outside the budget.

use agentpod_tool_gateway::{ToolCallOutcome, ToolConfig, ToolGateway, ToolLimits};
use serde_json::json;

use crate::assert_record_matches_client;
use crate::support::{LocalPostgres, TestResult, call, run_client};

#[tokio::test]
async fn calls_past_the_budget_are_refused_and_recorded() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_limits").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue(
        "issue-limits",
        &database_url,
        ToolLimits {
            max_tool_calls: Some(2),
        },
    )?;
    let calls = json!([
        call("query", json!({ "sql": "SELECT 1 AS one" })),
        call("no_such_tool", json!({})),
        call("list_tables", json!({})),
        call("query", json!({ "sql": "SELECT 2 AS two" })),
        call(
            "execute",
            json!({ "sql": "INSERT INTO notes (body) VALUES ('over budget')" })
        ),
    ]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;
    assert_record_matches_client(&record, &seen, "issue-limits");

    use ToolCallOutcome::{Limit, UnknownTool};
    let ok = ToolCallOutcome::Ok;
    let outcomes: Vec<_> = record.calls.iter().map(|call| call.outcome).collect();
    assert_eq!(outcomes, vec![ok, UnknownTool, ok, Limit, Limit]);
    assert_eq!(record.limit_stops, 2);
    assert!(
        seen["calls"][1]["protocol_error"]
            .as_str()
            .is_some_and(|error| error.contains("no_such_tool"))
    );
    for position in [3, 4] {
        assert_eq!(seen["calls"][position]["is_error"], json!(true));
        assert!(
            record.calls[position]
                .result
                .contains("tool call budget spent")
        );
    }
    // The refused write never ran.
    let mut admin = postgres.admin("issue_limits").await?;
    let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(notes, 0);
    Ok(())
}
