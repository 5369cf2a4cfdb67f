//! Test support: a throwaway Postgres server from the host's binaries (`initdb`, `postgres`),
//! run as `nobody` because `initdb` refuses root, removed with its data directory on drop.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentpod_db::{EffectiveBoundary, PodDatabase};
use agentpod_runtime::PostgresEndpoint;
use agentpod_spec::{
    AccessClass, BoundarySpec, ColumnRule, Fixture, FixtureKind, ProposalResponse, TableRule,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sqlx::{ConnectOptions, Connection, PgConnection};

const NOBODY: u32 = 65534;
const SUPERUSER_PASSWORD: &str = "test-superuser-password";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running Postgres 15 server on 127.0.0.1 with a superuser `postgres`.
pub struct LocalPostgres {
    child: Child,
    pub endpoint: PostgresEndpoint,
    log: PathBuf,
    // Declared last so the server is stopped before its directory is removed.
    directory: tempfile::TempDir,
}

impl LocalPostgres {
    pub async fn start() -> Result<LocalPostgres, Box<dyn std::error::Error>> {
        let directory = tempfile::Builder::new()
            .prefix("agentpod-db-test")
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
            // As every pod's server: refused statements land in a JSON log the superuser reads.
            .args([
                "-c",
                "logging_collector=on",
                "-c",
                "log_destination=jsonlog",
                "-c",
                "log_directory=log",
                "-c",
                "log_filename=agentpod.log",
                "-c",
                "log_rotation_age=0",
                "-c",
                "log_rotation_size=0",
                "-c",
                "log_min_error_statement=error",
            ])
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        let mut server = LocalPostgres {
            child,
            endpoint: PostgresEndpoint {
                host: "127.0.0.1".to_owned(),
                port,
                user: "postgres".to_owned(),
                password: SUPERUSER_PASSWORD.to_owned(),
            },
            log,
            directory,
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    async fn wait_until_ready(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("postgres exited with {status}: {}", self.log_text()).into());
            }
            if let Ok(connection) = connect(&self.endpoint.admin_url("postgres")).await {
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

    /// An admin connection to `database`.
    pub async fn admin(&self, database: &str) -> Result<PgConnection, sqlx::Error> {
        connect(&self.endpoint.admin_url(database)).await
    }
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

pub async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    url.parse::<sqlx::postgres::PgConnectOptions>()?
        .disable_statement_logging()
        .connect()
        .await
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

pub fn fixtures_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn bad_fixtures_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-fixtures")
}

pub fn sql(path: PathBuf) -> Fixture {
    Fixture {
        path,
        kind: FixtureKind::Sql,
        line: 1,
    }
}

pub fn csv(path: PathBuf, table: &str) -> Fixture {
    Fixture {
        path,
        kind: FixtureKind::Csv {
            table: table.to_owned(),
        },
        line: 1,
    }
}

pub fn json_lines(path: PathBuf, table: &str) -> Fixture {
    Fixture {
        path,
        kind: FixtureKind::JsonLines {
            table: table.to_owned(),
        },
        line: 1,
    }
}

/// A support desk: tickets, notes, refunds, customers, orders, staff permissions, and a
/// `billing` schema; the tables the escape suite protects.
pub fn support_desk_fixtures() -> Vec<Fixture> {
    vec![sql(fixtures_directory().join("support-desk.sql"))]
}

/// The schema and data of `tests/fixtures/`: customers (CSV), orders (JSON lines).
pub fn shop_fixtures() -> Vec<Fixture> {
    let directory = fixtures_directory();
    vec![
        sql(directory.join("schema.sql")),
        csv(directory.join("customers.csv"), "customers"),
        json_lines(directory.join("orders.jsonl"), "orders"),
    ]
}

/// The support desk's boundary: notes and ticket status writable, refunds by approval,
/// customers and orders read-only with customers' email hidden, staff permissions hidden, and
/// `billing.invoices` read-only through the default.
pub fn support_desk_boundary(on_proposal: ProposalResponse) -> BoundarySpec {
    let table = |table: &str, access: AccessClass, line: usize| TableRule {
        table: table.to_owned(),
        access,
        line,
        column: 5,
    };
    let column = |table: &str, column: &str, access: AccessClass, line: usize| ColumnRule {
        table: table.to_owned(),
        column: column.to_owned(),
        access,
        line,
        column_number: 5,
    };
    BoundarySpec {
        default: Some(AccessClass::ReadOnly),
        on_proposal,
        tables: vec![
            table("ticket_notes", AccessClass::Writable, 5),
            table("refunds", AccessClass::Approval, 6),
            table("customers", AccessClass::ReadOnly, 7),
            table("orders", AccessClass::ReadOnly, 8),
            table("staff_permissions", AccessClass::Hidden, 9),
            table("tickets", AccessClass::ReadOnly, 10),
        ],
        columns: vec![
            column("tickets", "status", AccessClass::Writable, 12),
            column("customers", "email", AccessClass::Hidden, 13),
        ],
        line: 2,
        column: 1,
    }
}

/// A seeded support desk with `boundary` applied.
pub async fn support_desk_pod(
    server: &LocalPostgres,
    boundary: Option<&BoundarySpec>,
) -> Result<(PodDatabase, EffectiveBoundary), Box<dyn std::error::Error>> {
    let mut pod = PodDatabase::seed(&server.endpoint, &support_desk_fixtures()).await?;
    let effective = pod.apply_boundary(boundary).await?;
    Ok((pod, effective))
}

/// Tables the agent must not change, each with a digest of its rows.
pub const PROTECTED_TABLES: &[&str] = &[
    "customers",
    "orders",
    "tickets",
    "refunds",
    "staff_permissions",
    "billing.invoices",
];

/// A digest of every protected table, as `(table, md5 of its rows)`, read as the superuser.
pub async fn table_digests(
    admin: &mut PgConnection,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let mut digests = Vec::new();
    for table in PROTECTED_TABLES {
        let digest: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t"
        )))
        .fetch_one(&mut *admin)
        .await?;
        digests.push(((*table).to_owned(), digest));
    }
    Ok(digests)
}
