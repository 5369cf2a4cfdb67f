//! Connections a hostile agent holds open for nothing: one that never finishes its request head
//! and one left idle after an answer are both closed by the gateway within its timeout (5 s),
//! so idle sockets cannot pile up. Raw TCP, waiting for the end of the stream, never sleeping.
//! And the gateway's own connections to an issue's database: opened when the issue is
//! registered, closed when it ends.

use std::time::Duration;

use agentpod_tool_gateway::{ToolConfig, ToolGateway, ToolLimits};
use serde_json::json;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{LocalPostgres, TestResult, call, run_client};

/// Far longer than the gateway's 5 s timeout, so a slow machine cannot fail a test that is right.
const DEADLINE: Duration = Duration::from_secs(30);

/// Waits for the gateway to close `stream`: end of file, or a reset.
async fn wait_for_close(stream: &mut TcpStream) -> TestResult {
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(DEADLINE, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            Ok(Ok(_)) => continue,
            Err(_) => {
                return Err(format!("the gateway kept a connection open past {DEADLINE:?}").into());
            }
        }
    }
}

#[tokio::test]
async fn half_sent_heads_and_idle_connections_are_closed() -> TestResult {
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let address = gateway.local_addr();
    let result: TestResult = async {
        let mut half_sent = TcpStream::connect(address).await?;
        half_sent
            .write_all(b"POST /i/some-token/mcp HTTP/1.1\r\nhost: gateway\r\ncontent-ty")
            .await?;

        // A whole request, answered on a kept-alive connection that is then left idle.
        let mut idle = TcpStream::connect(address).await?;
        idle.write_all(b"GET /nothing HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = tokio::time::timeout(DEADLINE, idle.read(&mut buffer)).await??;
            if read == 0 {
                return Err("the gateway closed the connection before answering".into());
            }
            answer.extend_from_slice(&buffer[..read]);
        }
        assert!(
            answer.starts_with(b"HTTP/1.1 404"),
            "{}",
            String::from_utf8_lossy(&answer)
        );

        wait_for_close(&mut half_sent).await?;
        wait_for_close(&mut idle).await?;
        Ok(())
    }
    .await;
    gateway.shutdown().await;
    result
}

/// The gateway's connections to `database` as the agent role, counted by the server.
async fn agent_connections(postgres: &LocalPostgres, database: &str) -> Result<i64, sqlx::Error> {
    let mut admin = postgres.admin("postgres").await?;
    let count = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'agentpod-tool-gateway'",
    )
    .bind(database)
    .fetch_one(&mut admin)
    .await;
    admin.close().await?;
    count
}

/// Waits until `wanted(count)` holds for the agent's connections to `database`.
async fn wait_for_connections(
    postgres: &LocalPostgres,
    database: &str,
    wanted: impl Fn(i64) -> bool,
) -> TestResult {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let count = agent_connections(postgres, database).await?;
        if wanted(count) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(
                format!("{count} gateway connections to {database} after {DEADLINE:?}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The issue's first database connection (a backend and a SCRAM handshake, tens of milliseconds
/// on a loaded machine) is opened when the issue is registered, before the agent's first call,
/// and closed when the issue is finished; the calls then run on it.
#[tokio::test]
async fn an_issue_connection_opens_at_registration_and_closes_at_its_end() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_warm").await?;
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let result: TestResult = async {
        let access = gateway.register_issue("issue-warm", &database_url, ToolLimits::default())?;
        // No call made yet: the connection is there all the same.
        wait_for_connections(&postgres, "issue_warm", |count| count == 1).await?;
        let calls = json!([
            call(
                "query",
                json!({ "sql": "SELECT name FROM customers WHERE id = 1" })
            ),
            call(
                "query",
                json!({ "sql": "SELECT name FROM customers WHERE id = 2" })
            ),
            call(
                "execute",
                json!({ "sql": "INSERT INTO notes (body) VALUES ('warm')" })
            ),
            call("list_tables", json!({})),
        ]);
        let seen = run_client(&access.url, &calls).await?;
        let texts: Vec<&str> = seen["calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .filter_map(|call| call["text"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(texts.len(), 4, "{seen:#}");
        assert!(
            texts[0].contains("Ada") && texts[1].contains("Grace"),
            "{seen:#}"
        );
        assert!(texts[2].contains("\"rows_affected\":1"), "{seen:#}");
        assert!(texts[3].contains("customers"), "{seen:#}");
        // The calls, a query, a write and the table list, ran on the connection opened for
        // them, not on new ones.
        assert_eq!(agent_connections(&postgres, "issue_warm").await?, 1);
        let record = gateway.finish_issue(&access.token);
        assert_eq!(record.calls.len(), 4);
        wait_for_connections(&postgres, "issue_warm", |count| count == 0).await?;
        Ok(())
    }
    .await;
    gateway.shutdown().await;
    result
}
