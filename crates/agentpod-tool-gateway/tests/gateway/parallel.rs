//! Several issues at once through one gateway: distinct tokens, no cross-talk, exact counts.

use agentpod_tool_gateway::{ToolGateway, ToolLimits};
use serde_json::{Value, json};

use crate::assert_record_matches_client;
use crate::sessions::config_with_helper;
use crate::support::{LocalPostgres, TestResult, call, run_client};

const ISSUES: usize = 4;

#[tokio::test]
async fn parallel_issues_are_counted_apart() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config_with_helper()).await?;
    let mut clients = Vec::new();
    let mut accesses = Vec::new();
    for issue in 0..ISSUES {
        let database_url = postgres
            .create_issue_database(&format!("issue_parallel_{issue}"))
            .await?;
        let access = gateway.register_issue(
            &format!("issue-{issue}"),
            &database_url,
            ToolLimits::default(),
        )?;
        // Issue k makes k + 2 calls, each naming the issue, so counts and results tell issues apart.
        let mut calls: Vec<Value> = (0..issue + 1)
            .map(|round| {
                call(
                    "query",
                    json!({ "sql": format!("SELECT {issue} AS issue, {round} AS round") }),
                )
            })
            .collect();
        calls.push(call(
            "execute",
            json!({ "sql": format!("INSERT INTO notes (body) VALUES ('from issue {issue}')") }),
        ));
        calls.push(call(
            "helper.echo",
            json!({ "text": format!("issue {issue}") }),
        ));
        let url = access.url.clone();
        clients.push(tokio::spawn(async move {
            run_client(&url, &Value::Array(calls))
                .await
                .map_err(|e| e.to_string())
        }));
        accesses.push(access);
    }
    let mut seen = Vec::new();
    for client in clients {
        seen.push(client.await?);
    }
    let records: Vec<_> = accesses
        .iter()
        .map(|access| gateway.finish_issue(&access.token))
        .collect();
    gateway.shutdown().await;

    let tokens: std::collections::HashSet<_> =
        accesses.iter().map(|access| access.token.clone()).collect();
    assert_eq!(tokens.len(), ISSUES);
    for (issue, (record, seen)) in records.iter().zip(seen).enumerate() {
        let seen = seen?;
        assert_record_matches_client(record, &seen, &format!("issue-{issue}"));
        assert_eq!(record.calls.len(), issue + 3);
        for call in &record.calls[..issue + 1] {
            let result: Value = serde_json::from_str(&call.result)?;
            assert_eq!(result["rows"][0]["issue"], json!(issue));
        }
        assert_eq!(record.calls[issue + 2].result, format!("issue {issue}"));
        // Each issue's write went to its own database only.
        let mut admin = postgres.admin(&format!("issue_parallel_{issue}")).await?;
        let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM notes")
            .fetch_all(&mut admin)
            .await?;
        assert_eq!(bodies, vec![format!("from issue {issue}")]);
    }
    Ok(())
}
