//! Added latency of the tool gateway, on its two paths, each against its own baseline in one run:
//! - proxied: the same MCP `tools/call` sent straight to a minimal rmcp server (the upstream) and
//!   through the gateway, which proxies that same server;
//! - query (the main path): the built-in `query` tool through the gateway, and the same SQL sent
//!   straight to the same Postgres with sqlx, as the same role with the same pool size.
//!
//! Open loop at ~500 calls/s for ~5 s each (p50/p99), then a closed loop for the most calls/s.
//! Postgres is started from the host's binaries, as the integration tests do.
//! Run with `cargo bench --profile dev -p agentpod-tool-gateway`. Prints figures, asserts nothing.

// The integration tests' Postgres helper, so the bench starts the server the same way.
#[path = "../tests/gateway/support.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentpod_tool_gateway::{ProxiedServer, ToolConfig, ToolGateway, ToolLimits};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerInfo, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;

use support::LocalPostgres;

const RATE_PER_SECOND: u64 = 500;
const OPEN_LOOP: Duration = Duration::from_secs(5);
const CLOSED_LOOP: Duration = Duration::from_secs(3);
const CLOSED_LOOP_WORKERS: usize = 16;
const WARM_UP_CALLS: usize = 200;
/// The gateway's own pool size per issue, so both sides of the query path can overlap as much.
const POOL_CONNECTIONS: u32 = 4;
/// What the query path runs: one indexed row, so the database's own work stays small and the
/// figures show the overhead around it.
const QUERY_SQL: &str = "SELECT id, name, tier FROM customers WHERE id = 1";

/// The upstream: one `echo` tool, no metering.
#[derive(Clone)]
struct Echo;

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = json!({ "type": "object", "properties": { "text": { "type": "string" } } });
        let schema = schema.as_object().cloned().unwrap_or_default();
        Ok(ListToolsResult::with_all_items(vec![Tool::new(
            "echo",
            "Echoes text.",
            schema,
        )]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let text = request
            .arguments
            .and_then(|arguments| {
                arguments
                    .get("text")
                    .and_then(|text| text.as_str().map(str::to_owned))
            })
            .unwrap_or_default();
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }
}

async fn start_upstream(stop: CancellationToken) -> std::io::Result<SocketAddr> {
    let config = StreamableHttpServerConfig::default()
        .with_stateful_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_cancellation_token(stop.child_token());
    let service = StreamableHttpService::new(
        || Ok(Echo),
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

/// One way of making a call, all measured the same way.
#[derive(Clone)]
enum Caller {
    /// An MCP `tools/call` over HTTP, as an agent sends it.
    Mcp {
        client: reqwest::Client,
        url: String,
        tool: &'static str,
    },
    /// The query straight to Postgres, as an agent with `DATABASE_URL` would send it.
    Sql { pool: PgPool },
}

impl Caller {
    /// One call; the latency, or `None` when it failed or came back wrong.
    async fn call(&self, sequence: u64) -> Option<Duration> {
        match self {
            Caller::Mcp { client, url, tool } => {
                let echo = format!("call {sequence}");
                let arguments = if tool.ends_with("echo") {
                    json!({ "text": echo })
                } else {
                    json!({ "sql": QUERY_SQL })
                };
                let body = json!({
                    "jsonrpc": "2.0", "id": sequence, "method": "tools/call",
                    "params": { "name": tool, "arguments": arguments },
                });
                let started = Instant::now();
                let response = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .body(body.to_string())
                    .send()
                    .await
                    .ok()?;
                let ok = response.status().is_success();
                let bytes = response.bytes().await.ok()?;
                let elapsed = started.elapsed();
                let answer: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
                let text = answer["result"]["content"][0]["text"].as_str()?;
                let right = if tool.ends_with("echo") {
                    text == echo
                } else {
                    answer["result"]["isError"] != json!(true) && text.contains("\"Ada\"")
                };
                (ok && right).then_some(elapsed)
            }
            Caller::Sql { pool } => {
                let started = Instant::now();
                let rows: Vec<(i32, String, String)> =
                    sqlx::query_as(QUERY_SQL).fetch_all(pool).await.ok()?;
                let elapsed = started.elapsed();
                (rows.len() == 1 && rows[0].1 == "Ada").then_some(elapsed)
            }
        }
    }
}

struct OpenLoop {
    latencies: Vec<Duration>,
    failures: usize,
    achieved_rate: f64,
}

async fn open_loop(caller: &Caller) -> OpenLoop {
    let total = RATE_PER_SECOND * OPEN_LOOP.as_secs();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for sequence in 0..total {
        ticker.tick().await;
        let caller = caller.clone();
        tasks.push(tokio::spawn(async move { caller.call(sequence).await }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        match task.await {
            Ok(Some(latency)) => latencies.push(latency),
            _ => failures += 1,
        }
    }
    let achieved_rate = total as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    OpenLoop {
        latencies,
        failures,
        achieved_rate,
    }
}

async fn closed_loop(caller: &Caller) -> f64 {
    let deadline = Instant::now() + CLOSED_LOOP;
    let started = Instant::now();
    let workers: Vec<_> = (0..CLOSED_LOOP_WORKERS)
        .map(|worker| {
            let caller = caller.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                let mut sequence = worker as u64 * 1_000_000;
                while Instant::now() < deadline {
                    if caller.call(sequence).await.is_some() {
                        done += 1;
                    }
                    sequence += 1;
                }
                done
            })
        })
        .collect();
    let mut done = 0;
    for worker in workers {
        done += worker.await.unwrap_or(0);
    }
    done as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn warm_up(caller: &Caller) {
    for sequence in 0..WARM_UP_CALLS as u64 {
        let _ = caller.call(sequence).await;
    }
}

/// One path measured both ways: open loop first, each side in turn, then the closed loops.
async fn compare(path: &str, direct_name: &str, direct: &Caller, through: &Caller) {
    warm_up(direct).await;
    warm_up(through).await;
    println!("{path}");
    let direct_open = open_loop(direct).await;
    let through_open = open_loop(through).await;
    for (name, run) in [
        (direct_name, &direct_open),
        ("through gateway", &through_open),
    ] {
        println!(
            "  {name:<20} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  ({} ok, {} failed, {:.0} calls/s offered)",
            percentile(&run.latencies, 0.50),
            percentile(&run.latencies, 0.99),
            percentile(&run.latencies, 1.0),
            run.latencies.len(),
            run.failures,
            run.achieved_rate,
        );
    }
    println!(
        "  added latency        p50 {:>7.3} ms  p99 {:>7.3} ms",
        percentile(&through_open.latencies, 0.50) - percentile(&direct_open.latencies, 0.50),
        percentile(&through_open.latencies, 0.99) - percentile(&direct_open.latencies, 0.99),
    );
    let direct_max = closed_loop(direct).await;
    let through_max = closed_loop(through).await;
    println!(
        "  max calls/s ({CLOSED_LOOP_WORKERS} concurrent callers, {} s): direct {direct_max:.0}, through gateway {through_max:.0}",
        CLOSED_LOOP.as_secs()
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Declared first so it is dropped (stopped, its directory removed) last, also on an error.
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("bench_query").await?;
    let stop = CancellationToken::new();
    let _stop_upstream = stop.clone().drop_guard();
    let upstream = start_upstream(stop.clone()).await?;
    let config = ToolConfig {
        servers: vec![ProxiedServer::Url {
            name: "upstream".to_owned(),
            url: format!("http://{upstream}/mcp"),
        }],
        ..ToolConfig::default()
    };
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config).await?;
    let proxied_access =
        gateway.register_issue("bench-proxied", &database_url, ToolLimits::default())?;
    let query_access =
        gateway.register_issue("bench-query", &database_url, ToolLimits::default())?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let direct_pool = PgPoolOptions::new()
        .max_connections(POOL_CONNECTIONS)
        .connect(&database_url)
        .await?;

    println!(
        "tool gateway: tools/call at {RATE_PER_SECOND} calls/s for {} s each",
        OPEN_LOOP.as_secs()
    );
    compare(
        "proxied MCP server (upstream.echo)",
        "direct to upstream",
        &Caller::Mcp {
            client: client.clone(),
            url: format!("http://{upstream}/mcp"),
            tool: "echo",
        },
        &Caller::Mcp {
            client: client.clone(),
            url: proxied_access.url.clone(),
            tool: "upstream.echo",
        },
    )
    .await;
    compare(
        &format!("built-in query tool ({QUERY_SQL})"),
        "direct to Postgres",
        &Caller::Sql {
            pool: direct_pool.clone(),
        },
        &Caller::Mcp {
            client,
            url: query_access.url.clone(),
            tool: "query",
        },
    )
    .await;

    let proxied_record = gateway.finish_issue(&proxied_access.token);
    let query_record = gateway.finish_issue(&query_access.token);
    println!(
        "  gateway recorded {} proxied and {} query calls",
        proxied_record.calls.len(),
        query_record.calls.len()
    );
    direct_pool.close().await;
    gateway.shutdown().await;
    Ok(())
}
