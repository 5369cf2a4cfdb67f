//! Hostile-agent attacks on the `query` tool's read-only connections (commit 1f6f3ab).

#[path = "gateway/support.rs"]
mod support;

use std::time::{Duration, Instant};

use agentpod_tool_gateway::{ToolConfig, ToolGateway, ToolLimits};
use serde_json::{Map, Value, json};
use sqlx::{Connection, Row};

use support::{LocalPostgres, TestResult};

fn sql(text: &str) -> Map<String, Value> {
    json!({ "sql": text })
        .as_object()
        .cloned()
        .unwrap_or_default()
}

async fn q(gateway: &ToolGateway, token: &str, text: &str) -> Result<String, String> {
    gateway.call_tool(token, "query", sql(text)).await
}

fn short(result: &Result<String, String>) -> String {
    let text = match result {
        Ok(text) => format!("OK {text}"),
        Err(text) => format!("ERR {text}"),
    };
    text.chars().take(300).collect()
}

fn config(timeout_ms: u64) -> ToolConfig {
    ToolConfig {
        call_timeout: Duration::from_millis(timeout_ms),
        ..ToolConfig::default()
    }
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A session advisory lock taken inside the read-only transaction survives its ROLLBACK.
#[tokio::test]
async fn advisory_lock_taken_by_a_query_outlasts_its_call() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_advisory").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(3000)).await?;
    let access = gateway.register_issue("adv", &url, ToolLimits::default())?;
    let token = access.token.as_str();

    let taken = q(
        &gateway,
        token,
        "SELECT pg_advisory_lock(42) AS l, pg_backend_pid() AS pid",
    )
    .await;
    eprintln!("take lock: {}", short(&taken));
    let mut admin = postgres.admin("attack_advisory").await?;
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42 AND granted",
    )
    .fetch_one(&mut admin)
    .await?;
    eprintln!("advisory locks still held after the call: {held}");
    // The other pool (execute) now blocks on it until the call timeout.
    let started = Instant::now();
    let blocked = gateway
        .call_tool(token, "execute", sql("SELECT pg_advisory_lock(42)"))
        .await;
    eprintln!(
        "execute pg_advisory_lock(42): {} after {:?}",
        short(&blocked),
        started.elapsed()
    );
    gateway.shutdown().await;
    assert_eq!(held, 0, "a session advisory lock outlasted the query call");
    Ok(())
}

/// Session advisory locks are kept in the cluster-wide lock table: calls that each succeed fill
/// it, the locks stay while the gateway keeps the connection, and every database of the cluster
/// (other issues, the admin) then fails to connect or lock.
#[tokio::test]
async fn advisory_locks_fill_the_cluster_lock_table() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_fill").await?;
    let _other_url = postgres.create_issue_database("attack_victim").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(20000)).await?;
    let access = gateway.register_issue("fill", &url, ToolLimits::default())?;
    let token = access.token.as_str();
    let mut admin = postgres.admin("attack_fill").await?;
    let settings: (String, String) = sqlx::query_as(
        "SELECT current_setting('max_locks_per_transaction'), current_setting('max_connections')",
    )
    .fetch_one(&mut admin)
    .await?;
    eprintln!("max_locks_per_transaction, max_connections: {settings:?}");
    admin.close().await?;

    // Chunks of locks, each call succeeding, until one fails; then smaller chunks, to the brim.
    // A call that fails closes its connection (and frees what it took); the others keep theirs.
    let mut next = 1_i64;
    let mut held = 0_i64;
    for size in [500_i64, 50, 5, 1] {
        loop {
            let text = format!(
                "SELECT count(pg_advisory_lock(g)) AS n FROM generate_series({next}, {}) AS g",
                next + size - 1
            );
            next += size;
            let result = q(&gateway, token, &text).await;
            if result.is_err() {
                eprintln!("chunk of {size}: {}", short(&result));
                break;
            }
            held += size;
        }
    }
    eprintln!("session advisory locks held by the gateway's idle connection: {held}");
    // Leave the last failing connection time to exit.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = q(&gateway, token, "SELECT 1 AS one").await;
    eprintln!("a later query of the same issue: {}", short(&later));
    let victim = postgres.admin("attack_victim").await;
    let victim_result = match victim {
        Err(error) => Err(format!("connect: {error}")),
        Ok(mut victim) => sqlx::raw_sql(
            "CREATE TABLE victim_table (id integer PRIMARY KEY, body text); \
             DROP TABLE victim_table;",
        )
        .execute(&mut victim)
        .await
        .map(|_| ())
        .map_err(|error| format!("lock: {error}")),
    };
    eprintln!("another database, as admin: {victim_result:?}");
    // Another issue on the same gateway and cluster: a query that takes 20 locks.
    let victim_access = gateway.register_issue("victim", &_other_url, ToolLimits::default())?;
    let victim_query = q(
        &gateway,
        &victim_access.token,
        "SELECT count(pg_advisory_xact_lock(g)) AS n FROM generate_series(1, 20) AS g",
    )
    .await;
    eprintln!("another issue's query: {}", short(&victim_query));
    gateway.shutdown().await;
    assert!(victim_result.is_ok(), "{victim_result:?}");
    assert!(victim_query.is_ok(), "{victim_query:?}");
    Ok(())
}

/// Settings a statement changes for the session, including role and search_path, and the
/// random seed.
#[tokio::test]
async fn settings_do_not_outlast_the_call() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_settings").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(5000)).await?;
    let access = gateway.register_issue("set", &url, ToolLimits::default())?;
    let token = access.token.as_str();
    let first = q(
        &gateway,
        token,
        "SELECT pg_backend_pid() AS pid, \
         set_config('search_path', 'pg_catalog', false) AS a, \
         set_config('role', 'agent', false) AS b, \
         set_config('session_authorization', 'agent', false) AS c, \
         set_config('statement_timeout', '0', false) AS d, \
         set_config('application_name', 'hijacked', false) AS e, \
         set_config('lock_timeout', '1', false) AS f, \
         set_config('idle_in_transaction_session_timeout', '1', false) AS g, \
         set_config('my.custom', 'x', false) AS h, \
         setseed(0.25) AS seed",
    )
    .await;
    eprintln!("set: {}", short(&first));
    let second = q(
        &gateway,
        token,
        "SELECT pg_backend_pid() AS pid, current_setting('search_path') AS sp, \
         current_setting('role') AS role, current_setting('statement_timeout') AS st, \
         current_setting('application_name') AS app, current_setting('lock_timeout') AS lt, \
         current_setting('idle_in_transaction_session_timeout') AS iit, \
         current_setting('my.custom', true) AS custom, random() AS r",
    )
    .await;
    eprintln!("after: {}", short(&second));
    let mut admin = postgres.admin("attack_settings").await?;
    let seeded: f64 = sqlx::query_scalar("SELECT setseed(0.25), random()")
        .fetch_one(&mut admin)
        .await
        .map(|_: Option<f64>| 0.0)
        .unwrap_or(0.0);
    let _ = seeded;
    let row = sqlx::query("SELECT setseed(0.25)::text, random()")
        .fetch_one(&mut admin)
        .await?;
    let expected: f64 = row.try_get(1)?;
    let after: Value = serde_json::from_str(second.as_deref().unwrap_or("{}"))?;
    eprintln!(
        "random after seed on a fresh session: {expected}, via gateway: {}",
        after["rows"][0]["r"]
    );
    gateway.shutdown().await;
    assert_eq!(after["rows"][0]["sp"], json!("\"$user\", public"));
    assert_ne!(
        after["rows"][0]["r"],
        json!(expected),
        "setseed outlasted the call"
    );
    Ok(())
}

/// Breaking out of the subquery the statement is wrapped in: the inner LIMIT goes, the reader
/// stops at the row limit and calls that `AllRows`, so the connection is put back while the
/// server is still sending rows; the next call on it waits behind them.
#[tokio::test]
async fn escaping_the_wrapper_keeps_rows_streaming_into_the_next_call() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_escape").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(4000)).await?;
    let access = gateway.register_issue("esc", &url, ToolLimits::default())?;
    let token = access.token.as_str();
    let escape = "SELECT 1 AS n) AS agentpod_row LIMIT 1) AS q \
                  CROSS JOIN (WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) \
                  SELECT i FROM r) AS g \
                  CROSS JOIN (SELECT * FROM (SELECT 1 AS m";
    let started = Instant::now();
    let escaped = q(&gateway, token, escape).await;
    let escaped_ok = escaped.is_ok();
    eprintln!("escape: {} in {:?}", short(&escaped), started.elapsed());
    let mut failures = 0;
    for index in 0..3 {
        let started = Instant::now();
        let next = q(&gateway, token, "SELECT pg_backend_pid() AS pid").await;
        if next.is_err() {
            failures += 1;
        }
        eprintln!(
            "next call {index}: {} in {:?}",
            short(&next),
            started.elapsed()
        );
    }
    gateway.shutdown().await;
    assert!(!escaped_ok, "the statement escaped its subquery");
    assert_eq!(
        failures, 0,
        "a later call failed behind the escaped statement"
    );
    Ok(())
}

/// The statement is one backend of the issue's role; it may signal the others of that role.
#[tokio::test]
async fn terminating_sibling_backends_fails_later_calls() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_terminate").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(5000)).await?;
    let access = gateway.register_issue("term", &url, ToolLimits::default())?;
    let token = access.token.as_str();
    // Open four query connections and a pool one.
    let sleeps = (0..4).map(|_| q(&gateway, token, "SELECT pg_sleep(0.3) AS s"));
    futures_util::future::join_all(sleeps).await;
    let _ = gateway.call_tool(token, "execute", sql("SELECT 1")).await;
    let killed = q(
        &gateway,
        token,
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE usename = current_user AND pid <> pg_backend_pid()",
    )
    .await;
    eprintln!("kill: {}", short(&killed));
    let mut failures = Vec::new();
    for index in 0..6 {
        let next = q(&gateway, token, "SELECT 1 AS one").await;
        eprintln!("query {index}: {}", short(&next));
        if next.is_err() {
            failures.push(format!("query {index}: {}", short(&next)));
        }
    }
    let executed = gateway.call_tool(token, "execute", sql("SELECT 1")).await;
    eprintln!("execute: {}", short(&executed));
    if executed.is_err() {
        failures.push(format!("execute: {}", short(&executed)));
    }
    gateway.shutdown().await;
    assert!(failures.is_empty(), "{failures:?}");
    Ok(())
}

/// The error text is not capped before the gateway reads it: a huge value in the message.
#[tokio::test]
async fn a_huge_error_message_is_held_whole_by_the_gateway() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_error").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(20000)).await?;
    let access = gateway.register_issue("err", &url, ToolLimits::default())?;
    let token = access.token.as_str();
    let _ = q(&gateway, token, "SELECT 1").await;
    let before = vm_hwm_kib();
    let failed = q(&gateway, token, "SELECT repeat('x', 300000000)::int AS n").await;
    let after = vm_hwm_kib();
    let length = match &failed {
        Ok(text) | Err(text) => text.len(),
    };
    eprintln!(
        "error result {} bytes; peak RSS {} MiB -> {} MiB",
        length,
        before / 1024,
        after / 1024
    );
    gateway.shutdown().await;
    assert!(
        after - before < 64 * 1024,
        "the gateway held {} MiB more",
        (after - before) / 1024
    );
    Ok(())
}

/// Many parallel slow queries, some cut by the call timeout: later calls still work and the
/// backends left are few.
#[tokio::test]
async fn parallel_slow_and_timed_out_queries_leave_later_calls_working() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_parallel").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(2000)).await?;
    let access = gateway.register_issue("par", &url, ToolLimits::default())?;
    let token = access.token.as_str();
    let calls = (0..16).map(|index| {
        let text = if index % 2 == 0 {
            "SELECT pg_sleep(10) AS s"
        } else {
            "SELECT pg_advisory_xact_lock(7) AS l, pg_sleep(1.5) AS s"
        };
        q(&gateway, token, text)
    });
    let results = futures_util::future::join_all(calls).await;
    for (index, result) in results.iter().enumerate() {
        eprintln!("parallel {index}: {}", short(result));
    }
    let mut admin = postgres.admin("attack_parallel").await?;
    let backends: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'attack_parallel' \
         AND application_name = 'agentpod-tool-gateway'",
    )
    .fetch_one(&mut admin)
    .await?;
    eprintln!("gateway backends right after: {backends}");
    let mut failures = Vec::new();
    for index in 0..6 {
        let next = q(&gateway, token, "SELECT 1 AS one").await;
        if next.is_err() {
            failures.push(short(&next));
        }
        eprintln!("later {index}: {}", short(&next));
    }
    gateway.shutdown().await;
    assert!(failures.is_empty(), "{failures:?}");
    Ok(())
}

/// Protocol-level oddities in the SQL text; each must fail or succeed cleanly and leave the
/// connection usable and read-only.
#[tokio::test]
async fn odd_sql_texts_leave_the_connection_clean() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let url = postgres.create_issue_database("attack_odd").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config(5000)).await?;
    let access = gateway.register_issue("odd", &url, ToolLimits::default())?;
    let token = access.token.as_str();
    let texts = [
        "SELECT 1 AS a\0; INSERT INTO notes (body) VALUES ('nul')",
        "SELECT $1 AS a",
        "SELECT 1 AS a /*",
        "SELECT $q$ AS a",
        "SELECT 1 AS a); COMMIT; INSERT INTO notes (body) VALUES ('semi'); SELECT (1",
        "SELECT 1 AS a) AS x; END; BEGIN READ WRITE; SELECT (1",
        "SELECT 1/(3-g) AS a FROM generate_series(1, 5) AS g",
        "SELECT 1 AS a -- ) AS agentpod_row LIMIT 1",
        "SELECT * FROM customers FOR UPDATE",
        "SELECT 1 AS a) AS agentpod_row LIMIT 1) AS agentpod_rows FOR SHARE OF agentpod_rows --",
        "SELECT nextval('notes_id_seq') AS a",
        "SELECT pg_notify('c', 'x') AS a",
        "SELECT lo_creat(-1) AS a",
        "SELECT pg_sleep(6) AS a",
        "SELECT set_config('transaction_read_only', 'off', true) AS a",
        "SELECT set_config('client_encoding', 'LATIN1', false) AS a, 'é€' AS b",
        "SELECT txid_current() AS a",
        "SELECT pg_export_snapshot() AS a",
    ];
    for text in texts {
        let result = q(&gateway, token, text).await;
        let after = q(
            &gateway,
            token,
            "SELECT pg_backend_pid() AS pid, current_setting('transaction_read_only') AS ro, \
             current_setting('client_encoding') AS ce, \
             (SELECT count(*) FROM pg_stat_activity WHERE usename = current_user \
              AND state LIKE 'idle in%') AS idle_in_tx",
        )
        .await;
        eprintln!(
            "{text:?}\n    -> {}\n    then {}",
            short(&result),
            short(&after)
        );
    }
    let mut admin = postgres.admin("attack_odd").await?;
    let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
        .fetch_one(&mut admin)
        .await?;
    eprintln!("notes written: {notes}");
    gateway.shutdown().await;
    assert_eq!(notes, 0);
    Ok(())
}
