//! Test support: the shared throwaway Postgres (`agentpod-test-postgres`), with a seeded
//! support desk for the graders.

#![allow(dead_code)]

use std::path::Path;

use agentpod_db::PodDatabase;
use agentpod_spec::{Fixture, FixtureKind};
use sqlx::Connection;

pub use agentpod_test_postgres::{LocalPostgres, TestResult, connect};

/// A seeded support desk (`tests/fixtures/support-desk.sql`) with no boundary: every table
/// writable by the agent role, changes captured by the audit triggers as in a real pod.
pub async fn support_desk_pod(
    server: &LocalPostgres,
) -> Result<PodDatabase, Box<dyn std::error::Error>> {
    let fixture = Fixture {
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/support-desk.sql"),
        kind: FixtureKind::Sql,
        line: 1,
    };
    let mut pod = PodDatabase::seed(&server.endpoint, &[fixture]).await?;
    pod.apply_boundary(None).await?;
    Ok(pod)
}

/// Runs `statements` in order as the agent role, as a replay of `execute` tool calls does.
pub async fn run_as_agent(agent_url: &str, statements: &[&str]) -> TestResult {
    let mut connection = connect(agent_url).await?;
    for statement in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*statement))
            .execute(&mut connection)
            .await?;
    }
    connection.close().await?;
    Ok(())
}
