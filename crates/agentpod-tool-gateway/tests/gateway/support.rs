//! Test support: the shared throwaway Postgres (`agentpod-test-postgres`) with an `agent` role;
//! issue databases with an `agent_tools` schema; and the Python MCP client.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub use agentpod_test_postgres::{TestResult, connect};

pub const AGENT_PASSWORD: &str = "agent-password";

/// The shared throwaway Postgres (`agentpod-test-postgres`) with a login role `agent`.
pub struct LocalPostgres {
    server: agentpod_test_postgres::LocalPostgres,
    pub port: u16,
}

impl LocalPostgres {
    pub async fn start() -> Result<LocalPostgres, Box<dyn std::error::Error>> {
        let server = agentpod_test_postgres::LocalPostgres::start().await?;
        let port = server.endpoint.port;
        let postgres = LocalPostgres { server, port };
        let mut admin = postgres.admin("postgres").await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE ROLE agent LOGIN PASSWORD '{AGENT_PASSWORD}'"
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        Ok(postgres)
    }

    pub fn log_text(&self) -> String {
        self.server.log_text()
    }

    pub fn admin_url(&self, database: &str) -> String {
        self.server.endpoint.admin_url(database)
    }

    pub fn agent_url(&self, database: &str) -> String {
        self.server.endpoint.url("agent", AGENT_PASSWORD, database)
    }

    pub async fn admin(&self, database: &str) -> Result<PgConnection, sqlx::Error> {
        connect(&self.admin_url(database)).await
    }

    /// A fresh issue database: `customers` the agent may only read, `notes` it may also insert
    /// into, `secrets` it cannot see, and the SQL-function tools in `agent_tools`. Returns the
    /// agent's URL for it.
    pub async fn create_issue_database(
        &self,
        name: &str,
    ) -> Result<String, Box<dyn std::error::Error>> {
        let mut admin = self.admin("postgres").await?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let mut database = self.admin(name).await?;
        sqlx::raw_sql(SCHEMA).execute(&mut database).await?;
        database.close().await?;
        Ok(self.agent_url(name))
    }
}

const SCHEMA: &str = r#"
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, tier text NOT NULL);
INSERT INTO customers VALUES (1, 'Ada', 'gold'), (2, 'Grace', 'silver'), (3, 'Linus', 'gold');
CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
CREATE TABLE secrets (id integer, value text);
INSERT INTO secrets VALUES (1, 'hidden');
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO agent;
GRANT SELECT ON customers TO agent;
GRANT SELECT, INSERT ON notes TO agent;
GRANT USAGE ON SEQUENCE notes_id_seq TO agent;
CREATE SCHEMA agent_tools;
GRANT USAGE ON SCHEMA agent_tools TO agent;
CREATE FUNCTION agent_tools.customer_name(customer_id integer) RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT name FROM public.customers WHERE id = customer_id $$;
COMMENT ON FUNCTION agent_tools.customer_name(integer) IS 'The name of one customer, by id.';
CREATE FUNCTION agent_tools.customers_in_tier(tier text, minimum_id integer DEFAULT 0)
    RETURNS TABLE (id integer, name text)
    LANGUAGE sql STABLE AS $$
        SELECT c.id, c.name FROM public.customers c
        WHERE c.tier = customers_in_tier.tier AND c.id >= minimum_id ORDER BY c.id
    $$;
COMMENT ON FUNCTION agent_tools.customers_in_tier(text, integer) IS
    '{"description": "Customers of one tier.",
      "parameters": {"tier": "the tier''s name, like gold", "minimum_id": "the lowest id listed"}}';
CREATE FUNCTION agent_tools.slow(seconds double precision) RETURNS integer
    LANGUAGE sql AS $$ SELECT 1 FROM pg_sleep(seconds) $$;
CREATE FUNCTION agent_tools.wide_rows(count integer, width integer)
    RETURNS TABLE (n integer, blob text)
    LANGUAGE sql STABLE AS $$ SELECT g, repeat('w', width) FROM generate_series(1, count) AS g $$;
CREATE FUNCTION agent_tools.long_text(width integer) RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT repeat('t', width) $$;
"#;

fn crate_directory() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The virtual environment's Python with the official SDKs (`AGENTPOD_PYTHON` overrides it).
pub fn python() -> PathBuf {
    match std::env::var_os("AGENTPOD_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => crate_directory().join("../../.venv/bin/python"),
    }
}

pub fn client_script(name: &str) -> PathBuf {
    crate_directory().join("tests/clients").join(name)
}

/// The stdio helper server's command, for `ProxiedServer::Command`.
pub fn helper_server_command() -> Vec<String> {
    vec![
        python().display().to_string(),
        client_script("helper_server.py").display().to_string(),
    ]
}

/// Runs the Python MCP client against `url` with `calls` and returns what it printed.
pub async fn run_client(url: &str, calls: &Value) -> Result<Value, Box<dyn std::error::Error>> {
    let mut command = tokio::process::Command::new(python());
    command
        .arg(client_script("mcp_session.py"))
        .env("AGENTPOD_MCP_URL", url)
        .env("AGENTPOD_TEST_CALLS", calls.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output()).await??;
    if !output.status.success() {
        return Err(format!(
            "client failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&output.stdout).map_err(|error| {
        format!(
            "client printed no JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?)
}

pub fn call(tool: &str, arguments: Value) -> Value {
    serde_json::json!({ "tool": tool, "arguments": arguments })
}

/// Tests that measure this process's memory hold this lock, and so do the ones that use a lot
/// of it, so one does not count the other's.
pub static MEMORY_HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets this process's peak resident memory to what it holds now (Linux `clear_refs`), and
/// returns that, in bytes.
pub fn reset_peak_memory() -> Result<u64, Box<dyn std::error::Error>> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(status_kib("VmRSS:").ok_or("no VmRSS in /proc/self/status")? * 1024)
}

/// This process's peak resident memory since the last reset, in bytes.
pub fn peak_memory() -> Result<u64, Box<dyn std::error::Error>> {
    Ok(status_kib("VmHWM:").ok_or("no VmHWM in /proc/self/status")? * 1024)
}
