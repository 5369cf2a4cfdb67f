//! Test support shared by the crates' integration tests: a throwaway Postgres server from the
//! host's binaries (`initdb`, `postgres`), run as `nobody` because `initdb` refuses root, stopped
//! and removed with its data directory on drop — also when a test fails.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentpod_postgres_server::PostgresEndpoint;
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
    // Never read: held so the data directory lives as long as the server, and declared last so
    // the server is stopped (Drop) before the directory is removed.
    _directory: tempfile::TempDir,
}

impl LocalPostgres {
    pub async fn start() -> Result<LocalPostgres, Box<dyn std::error::Error>> {
        Self::start_on("127.0.0.1").await
    }

    /// A server listening on `address` (and on 127.0.0.1) that takes password logins from any
    /// address: for tests whose clients are other machines (network namespaces) on a bridge
    /// the test made.
    pub async fn start_on(address: &str) -> Result<LocalPostgres, Box<dyn std::error::Error>> {
        let directory = tempfile::Builder::new()
            .prefix("agentpod-test-postgres")
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

        if address != "127.0.0.1" {
            use std::io::Write as _;
            std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("pg_hba.conf"))?
                .write_all(b"host all all 0.0.0.0/0 scram-sha-256\n")?;
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
                &if address == "127.0.0.1" {
                    "listen_addresses=127.0.0.1".to_owned()
                } else {
                    format!("listen_addresses=127.0.0.1,{address}")
                },
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
                host: address.to_owned(),
                port,
                user: "postgres".to_owned(),
                password: SUPERUSER_PASSWORD.to_owned(),
            },
            log,
            _directory: directory,
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

    /// A new, empty database `name` on this server; its superuser URL.
    pub async fn create_database(&self, name: &str) -> Result<String, sqlx::Error> {
        let mut admin = self.admin("postgres").await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(self.endpoint.admin_url(name))
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

pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
