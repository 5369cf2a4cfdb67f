//! Test support: a throwaway Postgres server from the host's binaries (`initdb`, `postgres`), run
//! as `nobody` because `initdb` refuses root and removed with its data directory on drop; issue
//! databases with an `agent` role and an `agent_tools` schema; and the Python MCP client.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};

const NOBODY: u32 = 65534;
const SUPERUSER_PASSWORD: &str = "test-superuser-password";
pub const AGENT_PASSWORD: &str = "agent-password";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running Postgres 15 server on 127.0.0.1 with a superuser `postgres` and a login role
/// `agent`.
pub struct LocalPostgres {
    child: Child,
    pub port: u16,
    log: PathBuf,
    // Declared last so the server is stopped before its directory is removed.
    directory: tempfile::TempDir,
}

impl LocalPostgres {
    pub async fn start() -> Result<LocalPostgres, Box<dyn std::error::Error>> {
        let directory = tempfile::Builder::new()
            .prefix("agentpod-tool-gateway-test")
            .tempdir()?;
        std::os::unix::fs::chown(directory.path(), Some(NOBODY), Some(NOBODY))?;
        let password_file = directory.path().join("password");
        std::fs::write(&password_file, SUPERUSER_PASSWORD)?;
        std::os::unix::fs::chown(&password_file, Some(NOBODY), Some(NOBODY))?;
        let data = directory.path().join("data");
        let log = directory.path().join("postgres.log");

        let initdb = Command::new("initdb")
            .uid(NOBODY)
            .gid(NOBODY)
            .arg("--pgdata")
            .arg(&data)
            .args([
                "--username=postgres",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
            ])
            .args(["--locale=C", "--no-sync", "--no-instructions"])
            .arg("--pwfile")
            .arg(&password_file)
            .stdin(Stdio::null())
            .output()?;
        if !initdb.status.success() {
            return Err(
                format!("initdb failed: {}", String::from_utf8_lossy(&initdb.stderr)).into(),
            );
        }

        let port = free_port()?;
        let log_file = std::fs::File::create(&log)?;
        std::os::unix::fs::chown(&log, Some(NOBODY), Some(NOBODY))?;
        let child = Command::new("postgres")
            .uid(NOBODY)
            .gid(NOBODY)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string()])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ])
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        let mut server = LocalPostgres {
            child,
            port,
            log,
            directory,
        };
        server.wait_until_ready().await?;
        let mut admin = server.admin("postgres").await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE ROLE agent LOGIN PASSWORD '{AGENT_PASSWORD}'"
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        Ok(server)
    }

    async fn wait_until_ready(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("postgres exited with {status}: {}", self.log_text()).into());
            }
            if let Ok(connection) = connect(&self.admin_url("postgres")).await {
                connection.close().await?;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("postgres not ready in time: {}", self.log_text()).into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn admin_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    pub fn agent_url(&self, database: &str) -> String {
        format!(
            "postgres://agent:{AGENT_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
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
COMMENT ON FUNCTION agent_tools.customers_in_tier(text, integer) IS 'Customers of one tier.';
CREATE FUNCTION agent_tools.slow(seconds double precision) RETURNS integer
    LANGUAGE sql AS $$ SELECT 1 FROM pg_sleep(seconds) $$;
"#;

pub async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    url.parse::<sqlx::postgres::PgConnectOptions>()?
        .disable_statement_logging()
        .connect()
        .await
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return;
        };
        // SIGQUIT: immediate shutdown; the data directory is thrown away anyway.
        let _ = kill(Pid::from_raw(pid), Signal::SIGQUIT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

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
