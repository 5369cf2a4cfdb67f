//! Slow tools: the latency recorded covers the call, and a call past the timeout is cut off with
//! an error result while the gateway keeps serving.

use std::time::Duration;

use agentpod_tool_gateway::{ToolCallOutcome, ToolConfig, ToolGateway, ToolLimits};
use serde_json::json;

use crate::assert_record_matches_client;
use crate::support::{LocalPostgres, TestResult, call, run_client};

#[tokio::test]
async fn slow_tools_are_measured_and_stalls_are_cut_off() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_slow").await?;
    let config = ToolConfig {
        sql_functions_schema: Some("agent_tools".to_owned()),
        call_timeout: Duration::from_millis(1500),
        ..ToolConfig::default()
    };
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config).await?;
    let access = gateway.register_issue("issue-slow", &database_url, ToolLimits::default())?;
    let calls = json!([
        call("slow", json!({ "seconds": 0.4 })),
        call("slow", json!({ "seconds": 30 })),
        call(
            "query",
            json!({ "sql": "SELECT 'still serving' AS status" })
        ),
    ]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;
    assert_record_matches_client(&record, &seen, "issue-slow");

    let slow = &record.calls[0];
    assert_eq!(slow.outcome, ToolCallOutcome::Ok);
    assert_eq!(slow.result, "1");
    assert!(slow.latency_ms >= 400.0, "latency {}", slow.latency_ms);

    let stalled = &record.calls[1];
    assert_eq!(stalled.outcome, ToolCallOutcome::Error);
    assert!(
        stalled.latency_ms >= 1400.0 && stalled.latency_ms < 10_000.0,
        "latency {}",
        stalled.latency_ms
    );
    assert!(
        stalled.result.contains("statement timeout") || stalled.result.contains("timed out"),
        "{}",
        stalled.result
    );
    assert_eq!(record.calls[2].outcome, ToolCallOutcome::Ok);
    assert!(record.calls[2].result.contains("still serving"));
    Ok(())
}
