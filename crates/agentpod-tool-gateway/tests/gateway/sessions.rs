//! One issue's agent lists every tool and calls each kind once.

use std::time::Duration;

use agentpod_tool_gateway::{ProxiedServer, ToolCallOutcome, ToolConfig, ToolGateway, ToolLimits};
use serde_json::{Value, json};

use crate::assert_record_matches_client;
use crate::support::{LocalPostgres, TestResult, call, helper_server_command, run_client};

pub fn config_with_helper() -> ToolConfig {
    ToolConfig {
        sql_functions_schema: Some("agent_tools".to_owned()),
        servers: vec![ProxiedServer::Command {
            name: "helper".to_owned(),
            command: helper_server_command(),
        }],
        call_timeout: Duration::from_secs(20),
        ..ToolConfig::default()
    }
}

#[tokio::test]
async fn client_sees_every_tool_kind_and_the_record_matches_it() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_tour").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config_with_helper()).await?;
    let access = gateway.register_issue("issue-tour", &database_url, ToolLimits::default())?;
    assert_eq!(
        access.environment(),
        vec![("AGENTPOD_MCP_URL".to_owned(), access.url.clone())]
    );
    assert!(access.url.ends_with(&format!("/i/{}/mcp", access.token)));

    let calls = json!([
        call("list_tables", json!({})),
        call(
            "query",
            json!({ "sql": "SELECT id, name FROM customers ORDER BY id;" })
        ),
        call(
            "execute",
            json!({ "sql": "INSERT INTO notes (body) VALUES ('called back')" })
        ),
        call(
            "execute",
            json!({ "sql": "UPDATE customers SET tier = 'platinum'" })
        ),
        call("query", json!({ "sql": "SELECT * FROM secrets" })),
        call("customer_name", json!({ "customer_id": 2 })),
        call("customers_in_tier", json!({ "tier": "gold" })),
        call(
            "helper.echo",
            json!({ "text": "hello through the gateway" })
        ),
        call("helper.add", json!({ "a": 40, "b": 2 })),
    ]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;

    let tools = &seen["tools"];
    for name in [
        "query",
        "execute",
        "list_tables",
        "customer_name",
        "customers_in_tier",
        "slow",
        "helper.echo",
        "helper.add",
    ] {
        assert!(
            tools.get(name).is_some(),
            "tool {name} missing from {tools:#}"
        );
    }
    assert_eq!(
        tools["customer_name"]["description"],
        json!("The name of one customer, by id.")
    );
    assert_eq!(
        tools["customer_name"]["input_schema"]["properties"]["customer_id"]["type"],
        json!("integer")
    );
    assert_eq!(
        tools["customers_in_tier"]["input_schema"]["required"],
        json!(["tier"])
    );
    // The comment's JSON convention: the description, and each parameter's meaning.
    assert_eq!(
        tools["customers_in_tier"]["description"],
        json!("Customers of one tier.")
    );
    let tier_properties = &tools["customers_in_tier"]["input_schema"]["properties"];
    assert_eq!(
        tier_properties["tier"]["description"],
        json!("the tier's name, like gold (Postgres type text)")
    );
    assert_eq!(
        tier_properties["minimum_id"]["description"],
        json!("the lowest id listed (Postgres type integer)")
    );
    assert_eq!(
        tools["customer_name"]["input_schema"]["properties"]["customer_id"]["description"],
        json!("Postgres type integer"),
        "a plain comment describes no parameter"
    );
    assert_eq!(
        tools["slow"]["input_schema"]["properties"]["seconds"]["type"],
        json!("number")
    );

    assert_record_matches_client(&record, &seen, "issue-tour");
    let outcomes: Vec<_> = record.calls.iter().map(|call| call.outcome).collect();
    use ToolCallOutcome::Error;
    let ok = ToolCallOutcome::Ok;
    assert_eq!(outcomes, vec![ok, ok, ok, Error, Error, ok, ok, ok, ok]);
    assert_eq!(record.limit_stops, 0);
    assert!(record.rejected_requests.is_empty());

    let results: Vec<Value> = record
        .calls
        .iter()
        .map(|call| {
            serde_json::from_str(&call.result).unwrap_or(Value::String(call.result.clone()))
        })
        .collect();
    let tables: Vec<&str> = results[0]["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|table| table["name"].as_str())
        .collect();
    assert_eq!(
        tables,
        vec!["customers", "notes"],
        "secrets must stay invisible"
    );
    assert_eq!(
        results[1],
        json!({ "rows": [{ "id": 1, "name": "Ada" }, { "id": 2, "name": "Grace" }, { "id": 3, "name": "Linus" }],
                "row_count": 3, "truncated": false })
    );
    assert_eq!(results[2], json!({ "rows_affected": 1 }));
    assert!(
        record.calls[3]
            .result
            .contains("permission denied for table customers")
    );
    assert!(
        record.calls[4]
            .result
            .contains("permission denied for table secrets")
    );
    assert_eq!(results[5], json!("Grace"));
    assert_eq!(
        results[6],
        json!([{ "id": 1, "name": "Ada" }, { "id": 3, "name": "Linus" }])
    );
    assert_eq!(record.calls[7].result, "hello through the gateway");
    assert_eq!(record.calls[8].result, "42");

    // The refused write changed nothing; the allowed one landed.
    let mut admin = postgres.admin("issue_tour").await?;
    let platinum: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers WHERE tier = 'platinum'")
            .fetch_one(&mut admin)
            .await?;
    let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!((platinum, notes), (0, 1));
    Ok(())
}

#[tokio::test]
async fn query_cuts_rows_at_the_cap_with_a_note() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_rows").await?;
    let config = ToolConfig {
        max_rows: 5,
        ..ToolConfig::default()
    };
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config).await?;
    let access = gateway.register_issue("issue-rows", &database_url, ToolLimits::default())?;
    let calls = json!([
        call(
            "query",
            json!({ "sql": "SELECT n FROM generate_series(1, 50) AS n -- trailing comment" })
        ),
        call("query", json!({ "sql": "DELETE FROM notes" })),
        call(
            "query",
            json!({ "sql": "SELECT 1) AS x; COMMIT; INSERT INTO notes (body) VALUES ('escaped'); SELECT (1" })
        ),
    ]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;
    assert_record_matches_client(&record, &seen, "issue-rows");

    let first: Value = serde_json::from_str(&record.calls[0].result)?;
    assert_eq!(first["row_count"], json!(5));
    assert_eq!(first["truncated"], json!(true));
    assert_eq!(first["rows"][4], json!({ "n": 5 }));
    assert!(
        first["note"]
            .as_str()
            .is_some_and(|note| note.contains("first 5 rows"))
    );
    // Neither a write nor an attempt to leave the read-only transaction gets through `query`.
    assert!(record.calls[1].is_error);
    assert!(record.calls[2].is_error);
    let mut admin = postgres.admin("issue_rows").await?;
    let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(notes, 0);
    Ok(())
}
