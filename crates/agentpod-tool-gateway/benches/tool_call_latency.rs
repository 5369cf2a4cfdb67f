//! Added latency of the tool gateway, on its two paths, each against its own baseline in one run:
//! - proxied: the same MCP `tools/call` sent straight to a minimal rmcp server (the upstream) and
//!   through the gateway, which proxies that same server;
//! - query (the main path): the built-in `query` tool through the gateway, and the same SQL sent
//!   straight to the same Postgres with sqlx, as the same role with the same pool size.
//!
//! Open loop at a fixed 2,000 calls/s (the LLM bench's load generator: a pacing thread, at most
//! 16 calls in flight), in interleaved one-second slices per path, then a closed loop for the
//! most calls/s. Then the start of an issue as a run sees it: a new issue registered (its own
//! pool, as every issue has its own role and database), a pause for the agent's start-up, and
//! the baseline agent's burst of calls back to back, beside a new direct connection and the same
//! calls; with the connections each issue opened.
//!
//! Postgres is started from the host's binaries (SCRAM, as pods use), as the integration tests do.
//! Run with `cargo bench -p agentpod-tool-gateway --bench tool_call_latency` (the bench profile,
//! optimised like the release build users install). Prints figures, asserts nothing.

// The integration tests' Postgres helper, so the bench starts the server the same way.
#[path = "../tests/gateway/support.rs"]
mod support;
// The LLM gateway bench's load generator, so both gateways are driven the same way.
#[path = "../../agentpod-llm-gateway/benches/support/open_loop.rs"]
mod open_loop;

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
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use open_loop::Measured;

use support::LocalPostgres;

const RATE_PER_SECOND: u32 = 2_000;
const SLICE: Duration = Duration::from_secs(1);
const ROUNDS: usize = 5;
/// The callers' connections, under the gateway's cap of 32 open connections.
const MAX_IN_FLIGHT: usize = 16;
const CLOSED_LOOP: Duration = Duration::from_secs(2);
const CLOSED_LOOP_WORKERS: usize = 16;
const WARM_UP_CALLS: u64 = 300;
/// The gateway's own pool size per issue, so both sides of the query path can overlap as much.
const POOL_CONNECTIONS: u32 = 4;
/// What the query path runs: one indexed row, so the database's own work stays small and the
/// figures show the overhead around it.
const QUERY_SQL: &str = "SELECT id, name, tier FROM customers WHERE id = 1";
/// Issues started for the issue-start figures, the pause standing for the agent's start-up, and
/// the calls each makes back to back (the baseline agent makes three queries, then writes).
const ISSUES: usize = 20;
const AGENT_START_UP: Duration = Duration::from_millis(50);
const CALLS_PER_ISSUE: usize = 3;

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

fn print_measured(name: &str, measured: &Measured) {
    println!(
        "  {name:<20} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>8.3} ms  ({} ok, {} failed, {:.0} calls/s offered)",
        measured.percentile(0.50),
        measured.percentile(0.99),
        measured.percentile(1.0),
        measured.latencies_ms.len(),
        measured.failures,
        measured.offered_rate(),
    );
}

/// One path measured both ways: open loop in interleaved slices, then the closed loops.
fn compare(callers: &Runtime, path: &str, direct_name: &str, direct: &Caller, through: &Caller) {
    for caller in [direct, through] {
        callers.block_on(async {
            for sequence in 0..WARM_UP_CALLS {
                let _ = caller.call(sequence).await;
            }
        });
    }
    println!("{path}");
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut measured = [Measured::default(), Measured::default()];
    for round in 0..ROUNDS {
        for (caller, into) in [direct, through].into_iter().zip(measured.iter_mut()) {
            open_loop::run_slice(
                callers.handle(),
                RATE_PER_SECOND,
                SLICE,
                &slots,
                round as u64 * 1_000_000,
                |sequence| {
                    let caller = caller.clone();
                    async move { caller.call(sequence).await.is_some() }
                },
                into,
            );
        }
    }
    let [mut direct_measured, mut through_measured] = measured;
    direct_measured.finish();
    through_measured.finish();
    print_measured(direct_name, &direct_measured);
    print_measured("through gateway", &through_measured);
    println!(
        "  added latency        p50 {:>7.3} ms  p99 {:>7.3} ms",
        through_measured.percentile(0.50) - direct_measured.percentile(0.50),
        through_measured.percentile(0.99) - direct_measured.percentile(0.99),
    );
    let mut rates = Vec::new();
    for caller in [direct, through] {
        let caller = caller.clone();
        let closed = open_loop::closed_loop(
            callers.handle(),
            CLOSED_LOOP_WORKERS,
            CLOSED_LOOP,
            move |sequence| {
                let caller = caller.clone();
                async move { caller.call(sequence).await.is_some() }
            },
        );
        rates.push(closed.rate);
    }
    println!(
        "  max calls/s ({CLOSED_LOOP_WORKERS} concurrent callers, {} s): direct {:.0}, through gateway {:.0}",
        CLOSED_LOOP.as_secs(),
        rates[0],
        rates[1]
    );
}

/// The connections the gateway holds open to `database` now.
async fn gateway_connections(admin: &PgPool, database: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'agentpod-tool-gateway'",
    )
    .bind(database)
    .fetch_one(admin)
    .await
    .unwrap_or(-1)
}

/// The start of an issue: through the gateway (a new issue registered, the agent's start-up, its
/// calls back to back) and directly (a new connection as the agent role, the same calls).
async fn issue_start(
    gateway: &ToolGateway,
    client: &reqwest::Client,
    database_url: &str,
    admin: &PgPool,
    database: &str,
) {
    let mut through: Vec<Vec<f64>> = vec![Vec::new(); CALLS_PER_ISSUE];
    let mut direct: Vec<Vec<f64>> = vec![Vec::new(); CALLS_PER_ISSUE + 1];
    let mut connections = Vec::new();
    for issue in 0..ISSUES {
        let access = match gateway.register_issue(
            &format!("bench-start-{issue}"),
            database_url,
            ToolLimits::default(),
        ) {
            Ok(access) => access,
            Err(error) => {
                println!("  cannot register an issue: {error}");
                return;
            }
        };
        tokio::time::sleep(AGENT_START_UP).await;
        let caller = Caller::Mcp {
            client: client.clone(),
            url: access.url.clone(),
            tool: "query",
        };
        for (position, latencies) in through.iter_mut().enumerate() {
            if let Some(latency) = caller.call(position as u64).await {
                latencies.push(latency.as_secs_f64() * 1000.0);
            }
        }
        connections.push(gateway_connections(admin, database).await);
        gateway.finish_issue(&access.token);

        let started = Instant::now();
        let Ok(pool) = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .connect(database_url)
            .await
        else {
            continue;
        };
        direct[0].push(started.elapsed().as_secs_f64() * 1000.0);
        let caller = Caller::Sql { pool: pool.clone() };
        for (position, latencies) in direct.iter_mut().skip(1).enumerate() {
            if let Some(latency) = caller.call(position as u64).await {
                latencies.push(latency.as_secs_f64() * 1000.0);
            }
        }
        pool.close().await;
        // Both sides' connections gone before the next issue.
        while gateway_connections(admin, database).await > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!(
        "issue start: {ISSUES} issues, each registered, {} ms for the agent's start-up, then {CALLS_PER_ISSUE} `query` calls back to back (medians)",
        AGENT_START_UP.as_millis()
    );
    let through_text: Vec<String> = through
        .iter_mut()
        .enumerate()
        .map(|(position, latencies)| format!("call {} {:.3} ms", position + 1, median(latencies)))
        .collect();
    println!("  through gateway      {}", through_text.join("  "));
    let mut direct_text = vec![format!("connect {:.3} ms", median(&mut direct[0]))];
    direct_text.extend(
        direct
            .iter_mut()
            .skip(1)
            .enumerate()
            .map(|(position, latencies)| {
                format!("call {} {:.3} ms", position + 1, median(latencies))
            }),
    );
    println!("  direct (new pool)    {}", direct_text.join("  "));
    connections.sort();
    println!(
        "  connections the gateway opened per issue: median {}, max {}",
        connections
            .get(connections.len() / 2)
            .copied()
            .unwrap_or(-1),
        connections.last().copied().unwrap_or(-1)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let callers = open_loop::runtime("callers", 1);
    let upstream_runtime = open_loop::runtime("upstream", 1);
    let gateway_runtime = open_loop::runtime("gateway", 2);
    // The gateway's own work (its server, the issues' pools) runs on its runtime.
    let _in_gateway_runtime = gateway_runtime.enter();
    let setup = gateway_runtime.handle().clone();
    // Declared first so it is dropped (stopped, its directory removed) last, also on an error.
    let postgres = setup.block_on(LocalPostgres::start())?;
    let database_url = setup.block_on(postgres.create_issue_database("bench_query"))?;
    let stop = CancellationToken::new();
    let _stop_upstream = stop.clone().drop_guard();
    let upstream = upstream_runtime.block_on(start_upstream(stop.clone()))?;
    let config = ToolConfig {
        servers: vec![ProxiedServer::Url {
            name: "upstream".to_owned(),
            url: format!("http://{upstream}/mcp"),
        }],
        ..ToolConfig::default()
    };
    let gateway = setup.block_on(ToolGateway::start("127.0.0.1:0".parse()?, config))?;
    let proxied_access =
        gateway.register_issue("bench-proxied", &database_url, ToolLimits::default())?;
    let query_access =
        gateway.register_issue("bench-query", &database_url, ToolLimits::default())?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .build()?;
    let direct_pool = callers.block_on(
        PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .connect(&database_url),
    )?;

    println!(
        "tool gateway: tools/call at {RATE_PER_SECOND} calls/s, open loop ({ROUNDS} interleaved slices of {SLICE:?} per path)"
    );
    compare(
        &callers,
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
    );
    compare(
        &callers,
        &format!("built-in query tool ({QUERY_SQL})"),
        "direct to Postgres",
        &Caller::Sql {
            pool: direct_pool.clone(),
        },
        &Caller::Mcp {
            client: client.clone(),
            url: query_access.url.clone(),
            tool: "query",
        },
    );

    let proxied_record = gateway.finish_issue(&proxied_access.token);
    let query_record = gateway.finish_issue(&query_access.token);
    println!(
        "  gateway recorded {} proxied and {} query calls",
        proxied_record.calls.len(),
        query_record.calls.len()
    );
    // The gateway's own time per call of the open loop (the warm-up's calls left out), from the
    // call's arguments read to its result recorded: what the added latency spends inside the
    // tool handler rather than in HTTP around it.
    let open_loop_calls =
        WARM_UP_CALLS as u32..WARM_UP_CALLS as u32 + ROUNDS as u32 * RATE_PER_SECOND;
    for (path, record) in [("proxied", &proxied_record), ("query", &query_record)] {
        let mut inside = Measured {
            latencies_ms: record
                .calls
                .iter()
                .filter(|call| open_loop_calls.contains(&call.sequence))
                .map(|call| call.latency_ms)
                .collect(),
            ..Measured::default()
        };
        inside.finish();
        println!(
            "  inside the handler ({path}): p50 {:.3} ms  p99 {:.3} ms",
            inside.percentile(0.50),
            inside.percentile(0.99)
        );
    }
    callers.block_on(async {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&postgres.admin_url("bench_query"))
            .await;
        match admin {
            Ok(admin) => {
                issue_start(&gateway, &client, &database_url, &admin, "bench_query").await;
                admin.close().await;
            }
            Err(error) => println!("issue start: no admin connection: {error}"),
        }
        direct_pool.close().await;
    });
    setup.block_on(gateway.shutdown());
    Ok(())
}
