//! The result cap: a tool result the agent gets is at most 1 MiB of text, what fits and a note
//! saying `"truncated": true`, whether the result came from the database (`query`, SQL-function
//! tools) or from a proxied server (stdio or HTTP, JSON or event stream); every cut call is
//! recorded as capped, and the gateway reads no more than the cap of any of them, so a query
//! whose result would be 50 MB leaves the process's memory about where it was.

use std::net::SocketAddr;
use std::sync::Arc;

use agentpod_tool_gateway::{ProxiedServer, ToolCallOutcome, ToolConfig, ToolGateway, ToolLimits};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerInfo, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::assert_record_matches_client;
use crate::sessions::config_with_helper;
use crate::support::{
    LocalPostgres, MEMORY_HEAVY, TestResult, call, peak_memory, reset_peak_memory, run_client,
};

/// The gateway's result cap (`RESULT_CAP_BYTES`).
const RESULT_CAP: usize = 1024 * 1024;

/// How much the test process may grow while a 50 MB result passes through it. Well under the
/// result itself: reading it whole would take several times 50 MB (rows, their JSON text, the
/// MCP answer).
const MEMORY_GROWTH_BOUND: u64 = 48 * 1024 * 1024;

fn text_of(seen: &Value, position: usize) -> String {
    seen["calls"][position]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn json_of(seen: &Value, position: usize) -> Value {
    let text = text_of(seen, position);
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// The note a cut result ends with, as the agent reads it: the last line of the text.
fn closing_note(text: &str) -> Value {
    text.lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_fifty_megabyte_query_is_capped_and_memory_stays_bounded() -> TestResult {
    let _heavy = MEMORY_HEAVY.lock().await;
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_huge_query").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue("issue-huge", &database_url, ToolLimits::default())?;
    let calls = json!([
        // 50 rows of 1 MB: a 50 MB result if read whole.
        call(
            "query",
            json!({ "sql": "SELECT n, repeat('x', 1000000) AS blob FROM generate_series(1, 50) AS n" })
        ),
        // One row alone over the cap.
        call(
            "query",
            json!({ "sql": "SELECT repeat('y', 5000000) AS blob" })
        ),
        call(
            "query",
            json!({ "sql": "SELECT 'still serving' AS status" })
        ),
    ]);
    let baseline = reset_peak_memory()?;
    let seen = run_client(&access.url, &calls).await;
    let peak = peak_memory()?;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;
    assert_eq!(record.calls.len(), 3);
    let growth = peak.saturating_sub(baseline);
    assert!(
        growth < MEMORY_GROWTH_BOUND,
        "the process grew by {growth} bytes (from {baseline} to a peak of {peak})"
    );

    let huge = text_of(&seen, 0);
    assert!(huge.len() <= RESULT_CAP, "{} bytes", huge.len());
    let result = json_of(&seen, 0);
    assert_eq!(result["truncated"], json!(true));
    let rows = result["rows"].as_array().cloned().unwrap_or_default();
    assert!(!rows.is_empty(), "what fits is returned: {:.200}", huge);
    assert_eq!(result["row_count"], json!(rows.len()));
    for (position, row) in rows.iter().enumerate() {
        assert_eq!(row["n"], json!(position + 1));
        assert_eq!(row["blob"].as_str().map(str::len), Some(1_000_000));
    }
    assert!(
        result["note"]
            .as_str()
            .is_some_and(|note| note.contains("result cap")),
        "{}",
        result["note"]
    );
    assert_eq!(seen["calls"][0]["is_error"], json!(false));
    let recorded = &record.calls[0];
    assert!(recorded.result_capped);
    assert_eq!(recorded.outcome, ToolCallOutcome::Ok);
    assert_eq!(recorded.result_bytes, huge.len());
    assert!(huge.starts_with(&recorded.result));

    let oversized = json_of(&seen, 1);
    assert_eq!(oversized["truncated"], json!(true));
    assert_eq!(oversized["rows"], json!([]));
    assert!(
        oversized["note"]
            .as_str()
            .is_some_and(|note| note.contains("row 1 alone is")),
        "{oversized}"
    );
    assert!(record.calls[1].result_capped);

    // The connection the cut query ran on was closed; the next call gets another.
    assert_eq!(
        json_of(&seen, 2)["rows"],
        json!([{ "status": "still serving" }])
    );
    assert!(!record.calls[2].result_capped);

    Ok(())
}

#[tokio::test]
async fn sql_function_results_are_capped() -> TestResult {
    let _heavy = MEMORY_HEAVY.lock().await;
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres
        .create_issue_database("issue_huge_function")
        .await?;
    let config = ToolConfig {
        sql_functions_schema: Some("agent_tools".to_owned()),
        ..ToolConfig::default()
    };
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config).await?;
    let access = gateway.register_issue("issue-function", &database_url, ToolLimits::default())?;
    let calls = json!([
        call("wide_rows", json!({ "count": 50, "width": 1000000 })),
        call("long_text", json!({ "width": 3000000 })),
        call("customers_in_tier", json!({ "tier": "gold" })),
    ]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;
    assert_record_matches_client_but_the_cut(&record, &seen);

    let rows = json_of(&seen, 0);
    assert!(text_of(&seen, 0).len() <= RESULT_CAP);
    assert_eq!(rows["truncated"], json!(true));
    let kept = rows["rows"].as_array().map(Vec::len).unwrap_or_default();
    assert!((1..50).contains(&kept), "{kept} rows kept");
    assert_eq!(rows["rows"][0]["n"], json!(1));

    let long = json_of(&seen, 1);
    assert!(text_of(&seen, 1).len() <= RESULT_CAP);
    assert_eq!(long["truncated"], json!(true));
    // The JSON text of a 3,000,000-letter string, quotes included.
    assert_eq!(long["result_bytes"], json!(3_000_002));
    assert!(
        long["partial"]
            .as_str()
            .is_some_and(|partial| partial.starts_with("\"ttt"))
    );

    // Small results keep their shape.
    assert_eq!(
        json_of(&seen, 2),
        json!([{ "id": 1, "name": "Ada" }, { "id": 3, "name": "Linus" }])
    );
    let capped: Vec<bool> = record.calls.iter().map(|call| call.result_capped).collect();
    assert_eq!(capped, vec![true, true, false]);
    Ok(())
}

/// As `assert_record_matches_client`, for records whose long results were cut to the record's
/// own 64 KiB: the record holds the start of what the client saw.
fn assert_record_matches_client_but_the_cut(
    record: &agentpod_tool_gateway::IssueToolRecord,
    seen: &Value,
) {
    let calls = seen["calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(record.calls.len(), calls.len());
    for (recorded, seen) in record.calls.iter().zip(&calls) {
        let text = seen["text"].as_str().unwrap_or_default();
        assert_eq!(recorded.tool, seen["tool"].as_str().unwrap_or_default());
        assert_eq!(recorded.result_bytes, text.len());
        assert!(text.starts_with(&recorded.result));
        assert_eq!(Some(recorded.is_error), seen["is_error"].as_bool());
    }
}

#[tokio::test]
async fn stdio_proxied_results_are_capped_after_or_while_reading() -> TestResult {
    let _heavy = MEMORY_HEAVY.lock().await;
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_huge_stdio").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config_with_helper()).await?;
    let access = gateway.register_issue("issue-stdio", &database_url, ToolLimits::default())?;
    let calls = json!([
        // Sent as text and again as structured content: about 3 MB, read whole, then cut.
        call("helper.long_text", json!({ "size": 1_500_000 })),
        // About 6 MB: cut off while being read.
        call("helper.long_text", json!({ "size": 3_000_000 })),
        call("helper.echo", json!({ "text": "after the flood" })),
    ]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;
    assert_record_matches_client_but_the_cut(&record, &seen);
    assert_proxied_cuts(&seen, &record, 0)?;
    assert_eq!(text_of(&seen, 2), "after the flood");
    assert!(!record.calls[2].result_capped);
    Ok(())
}

/// Calls `first` and `first + 1` are a result cut after reading and one cut while reading.
fn assert_proxied_cuts(
    seen: &Value,
    record: &agentpod_tool_gateway::IssueToolRecord,
    first: usize,
) -> TestResult {
    let cut_after = text_of(seen, first);
    assert!(cut_after.len() <= RESULT_CAP, "{} bytes", cut_after.len());
    assert!(cut_after.starts_with("hhhh"));
    let note = closing_note(&cut_after);
    assert_eq!(note["truncated"], json!(true), "{note}");
    assert!(
        note["result_bytes"]
            .as_u64()
            .is_some_and(|bytes| bytes > RESULT_CAP as u64)
    );
    assert!(record.calls[first].result_capped);

    let cut_while_read = text_of(seen, first + 1);
    assert!(cut_while_read.len() <= RESULT_CAP);
    let note: Value = serde_json::from_str(&cut_while_read)?;
    assert_eq!(note["truncated"], json!(true), "{note}");
    assert!(
        note["note"]
            .as_str()
            .is_some_and(|note| note.contains("cut off while being read"))
    );
    assert_eq!(seen["calls"][first + 1]["is_error"], json!(true));
    assert!(record.calls[first + 1].result_capped);
    assert_eq!(record.calls[first + 1].outcome, ToolCallOutcome::Error);
    Ok(())
}

/// A proxied HTTP server with one tool, `long_text`, that answers `size` letters.
#[derive(Clone)]
struct LongText;

impl ServerHandler for LongText {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = json!({ "type": "object", "properties": { "size": { "type": "integer" } } });
        let schema = schema.as_object().cloned().unwrap_or_default();
        Ok(ListToolsResult::with_all_items(vec![Tool::new(
            "long_text",
            "Answers `size` letters.",
            schema,
        )]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let size = request
            .arguments
            .and_then(|arguments| arguments.get("size").and_then(Value::as_u64))
            .unwrap_or(0);
        let size = usize::try_from(size).unwrap_or(0);
        Ok(CallToolResult::success(vec![ContentBlock::text(
            "h".repeat(size),
        )]))
    }
}

/// Serves `LongText` on loopback, answering in JSON or in an event stream.
async fn start_long_text_server(
    json_response: bool,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let config = StreamableHttpServerConfig::default()
        .with_stateful_mode(false)
        .with_json_response(json_response)
        .with_sse_keep_alive(None)
        .with_cancellation_token(stop.child_token());
    let service = StreamableHttpService::new(
        || Ok(LongText),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let router = axum::Router::new().route_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    Ok(address)
}

#[tokio::test]
async fn http_proxied_results_are_capped_in_json_and_in_event_streams() -> TestResult {
    let _heavy = MEMORY_HEAVY.lock().await;
    let stop = CancellationToken::new();
    let json_server = start_long_text_server(true, stop.clone()).await?;
    let events_server = start_long_text_server(false, stop.clone()).await?;
    let config = ToolConfig {
        servers: vec![
            ProxiedServer::Url {
                name: "json".to_owned(),
                url: format!("http://{json_server}/mcp"),
            },
            ProxiedServer::Url {
                name: "events".to_owned(),
                url: format!("http://{events_server}/mcp"),
            },
        ],
        ..ToolConfig::default()
    };
    let started = ToolGateway::start("127.0.0.1:0".parse()?, config).await;
    let gateway = match started {
        Ok(gateway) => gateway,
        Err(error) => {
            stop.cancel();
            return Err(error.into());
        }
    };
    // No tool here touches the database, so the issue's URL is never connected to.
    let access = gateway.register_issue(
        "issue-http",
        "postgres://agent:unused@127.0.0.1:1/unused",
        ToolLimits::default(),
    )?;
    let calls = json!([
        call("json.long_text", json!({ "size": 2_000_000 })),
        call("json.long_text", json!({ "size": 5_000_000 })),
        call("events.long_text", json!({ "size": 2_000_000 })),
        call("events.long_text", json!({ "size": 5_000_000 })),
        call("json.long_text", json!({ "size": 5 })),
        call("events.long_text", json!({ "size": 5 })),
    ]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    stop.cancel();
    let seen = seen?;
    assert_record_matches_client_but_the_cut(&record, &seen);
    assert_proxied_cuts(&seen, &record, 0)?;
    assert_proxied_cuts(&seen, &record, 2)?;
    // Both servers still answer after a cut.
    assert_eq!(text_of(&seen, 4), "hhhhh");
    assert_eq!(text_of(&seen, 5), "hhhhh");
    Ok(())
}

#[tokio::test]
async fn small_results_are_untouched() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres
        .create_issue_database("issue_small_results")
        .await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue("issue-small", &database_url, ToolLimits::default())?;
    let calls = json!([call(
        "query",
        json!({ "sql": "SELECT n, repeat('s', 500) AS text FROM generate_series(1, 100) AS n" })
    )]);
    let seen = run_client(&access.url, &calls).await;
    let record = gateway.finish_issue(&access.token);
    gateway.shutdown().await;
    let seen = seen?;
    assert_record_matches_client(&record, &seen, "issue-small");
    let result = json_of(&seen, 0);
    assert_eq!(result["row_count"], json!(100));
    assert_eq!(result["truncated"], json!(false));
    assert!(!record.calls[0].result_capped);
    Ok(())
}
