//! The connections for the `query` and `execute` tools, and how a statement runs on
//! one: as the agent's role, in one round trip, with every message the server sends held to a
//! size, and nothing the statement does left behind on the connection for the next call.
//!
//! sqlx, which serves the other database tools, waits for an answer after each step: `BEGIN READ
//! ONLY`, then the statement's parse and description, then its execution; three round trips
//! before the first row. tokio-postgres sends requests on one connection back to back without
//! waiting (pipelining) and runs a statement whose parameter types are given (none here) without
//! a separate parse. So a `query` sends `BEGIN READ ONLY`, the statement, `ROLLBACK` and
//! `DISCARD ALL` at once, and an `execute` `BEGIN READ WRITE`, the statement, `COMMIT` and
//! `DISCARD ALL`; the server runs them in that order, and the caller waits for the statement's
//! answer (and the commit's) alone.
//!
//! What keeps a `query` from writing:
//! - The extended protocol takes one statement, inside a subquery: the text cannot end the
//!   transaction or start another.
//! - The transaction is read-only before the statement's first step, so nothing it calls can
//!   write, and it cannot be made read-write again once a query ran in it.
//! - The `ROLLBACK` queued behind the statement undoes any setting the statement changed, for
//!   the session too (`set_config(…, false)`): settings made in a transaction that rolls back are
//!   reverted.
//! - The connections are opened with `default_transaction_read_only`, so a statement that ran
//!   outside the transaction, were `BEGIN` ever refused, would still be read-only; such a
//!   connection is closed, not used again.
//!
//! What keeps a statement from outlasting its call: the `DISCARD ALL` queued behind each ends
//! what a rollback or commit leaves (session advisory locks, settings an `execute` made, prepared
//! statements, temporary tables), so they can neither block the agent's later calls nor change
//! what they do; the next call's requests queue behind it on the same connection. Each message
//! the server sends is held to a size ([`CappedMessages`]), so a statement cannot make the
//! gateway read a gigabyte-long error or row whole.
//!
//! A connection is used again only after a call that read its statement's answer to the end
//! (a text that closes the `query` wrapper's parentheses can escape its `LIMIT`, so the row
//! limit alone does not say that); one given up on (the result cap, a timeout, an error of the
//! connection) is closed, which also ends what the server was still sending.

use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, RowStream};

use crate::capped_messages::CappedMessages;
use crate::result_cap::RESULT_CAP_BYTES;

/// What ends whatever a statement left on its session; its own request, since it cannot run in
/// a transaction block.
const DISCARD: &str = "DISCARD ALL";

/// The largest message a `query` connection reads: a row of the `query` statement is at most
/// the result cap and a few bytes of framing; an error or notice has no need to be larger.
const MAX_MESSAGE_BYTES: usize = RESULT_CAP_BYTES + 64 * 1024;

/// The read-only connections: opened on demand up to a cap, kept while they are
/// reusable, closed with the issue.
pub(crate) struct StatementConnections {
    config: Config,
    /// The longest a new connection may take, handshake included.
    connect_timeout: Duration,
    idle: Mutex<Idle>,
    /// One permit per open connection.
    slots: Arc<Semaphore>,
    /// Woken when a connection is put back or closed, for callers waiting for one.
    returned: Notify,
}

#[derive(Default)]
struct Idle {
    connections: Vec<StatementConnection>,
    closed: bool,
}

/// One open connection: its client, the task driving its socket, its place under the cap.
pub(crate) struct StatementConnection {
    client: Client,
    driver: JoinHandle<()>,
    /// Why the connection ended, when it ended with an error (the message cap, say): a call
    /// waiting on it learns only that it closed.
    ended: Arc<OnceLock<String>>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for StatementConnection {
    fn drop(&mut self) {
        // Closing the socket ends whatever the server was still sending for it.
        self.driver.abort();
    }
}

/// Why a `query` failed: the database's refusal or error, a connection that could not be opened
/// or broke, or a row that did not decode.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StatementError {
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
    #[error("the row's JSON did not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("the issue's database connections are closed")]
    Closed,
    #[error("cannot connect to the issue's database: {0}")]
    Connect(#[from] std::io::Error),
    #[error("the issue's database URL names no TCP host")]
    NoTcpHost,
    #[error("connecting to the issue's database took longer than {0:?}")]
    ConnectTimeout(Duration),
    #[error("the connection to the issue's database ended: {0}")]
    Ended(String),
}

impl StatementError {
    /// The text the agent sees, in the shape of the other tools' database errors.
    pub(crate) fn describe(&self) -> String {
        match self {
            StatementError::Database(error) => match error.as_db_error() {
                Some(database) => {
                    format!(
                        "{} (SQLSTATE {})",
                        database.message(),
                        database.code().code()
                    )
                }
                None => agentpod_error_chain::error_chain(error),
            },
            other => other.to_string(),
        }
    }
}

impl StatementConnections {
    /// Connections to `database_url` (the role and database), at most `max_connections`
    /// open; the server cancels a statement after `statement_timeout`.
    pub(crate) fn new(
        database_url: &str,
        max_connections: u32,
        statement_timeout: Duration,
    ) -> Result<StatementConnections, tokio_postgres::Error> {
        let mut config = Config::from_str(database_url)?;
        config
            .options(format!(
                "-c default_transaction_read_only=on -c statement_timeout={}",
                statement_timeout.as_millis()
            ))
            .application_name("agentpod-tool-gateway")
            // No TLS (pods are reached on loopback or their bridge), so the first bytes the
            // server sends are already messages, which is what the message cap reads.
            .ssl_mode(SslMode::Disable);
        Ok(StatementConnections {
            config,
            connect_timeout: statement_timeout,
            idle: Mutex::new(Idle::default()),
            slots: Arc::new(Semaphore::new(max_connections.max(1) as usize)),
            returned: Notify::new(),
        })
    }

    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection, a new one while under the cap, or else the next one put back.
    pub(crate) async fn acquire(&self) -> Result<StatementConnection, StatementError> {
        loop {
            let returned = self.returned.notified();
            let mut returned = std::pin::pin!(returned);
            // Registered before looking, so a connection put back in between still wakes us.
            returned.as_mut().enable();
            {
                let mut idle = self.idle();
                if idle.closed {
                    return Err(StatementError::Closed);
                }
                while let Some(connection) = idle.connections.pop() {
                    if !connection.client.is_closed() {
                        return Ok(connection);
                    }
                }
            }
            if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
                return self.open(slot).await;
            }
            returned.await;
        }
    }

    async fn open(
        &self,
        slot: OwnedSemaphorePermit,
    ) -> Result<StatementConnection, StatementError> {
        let connecting = tokio::time::timeout(self.connect_timeout, self.connect());
        let opened = match connecting.await {
            Ok(opened) => opened,
            Err(_elapsed) => Err(StatementError::ConnectTimeout(self.connect_timeout)),
        };
        match opened {
            Ok((client, driver, ended)) => Ok(StatementConnection {
                client,
                driver,
                ended,
                _slot: slot,
            }),
            Err(error) => {
                drop(slot);
                self.returned.notify_one();
                Err(error)
            }
        }
    }

    /// A new connection over a TCP stream whose messages are capped, and the task driving it.
    async fn connect(
        &self,
    ) -> Result<(Client, JoinHandle<()>, Arc<OnceLock<String>>), StatementError> {
        let Some(Host::Tcp(host)) = self.config.get_hosts().first() else {
            return Err(StatementError::NoTcpHost);
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let stream = TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        let capped = CappedMessages::new(stream, MAX_MESSAGE_BYTES);
        let (client, connection) = self.config.connect_raw(capped, NoTls).await?;
        let ended = Arc::new(OnceLock::new());
        let why = Arc::clone(&ended);
        let driver = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a read-only connection of the tool gateway ended");
                let _ = why.set(agentpod_error_chain::error_chain(&error));
            }
        });
        Ok((client, driver, ended))
    }

    /// Opens one connection ahead of the first call, unless one is open already.
    pub(crate) async fn open_one(&self) -> Result<(), StatementError> {
        let slot = {
            let idle = self.idle();
            if idle.closed || !idle.connections.is_empty() {
                return Ok(());
            }
            match Arc::clone(&self.slots).try_acquire_owned() {
                Ok(slot) => slot,
                Err(_) => return Ok(()),
            }
        };
        let connection = self.open(slot).await?;
        self.put_back(connection);
        Ok(())
    }

    /// Makes `connection` available to the next call (closes it if the issue is finished).
    fn put_back(&self, connection: StatementConnection) {
        {
            let mut idle = self.idle();
            if !idle.closed {
                idle.connections.push(connection);
            }
        }
        self.returned.notify_one();
    }

    /// Closes a connection that must not be used again, and lets a waiting caller open another.
    fn close_one(&self, connection: StatementConnection) {
        drop(connection);
        self.returned.notify_one();
    }

    /// Closes the idle connections; the ones in use close as their calls end.
    pub(crate) fn close(&self) {
        let connections = {
            let mut idle = self.idle();
            idle.closed = true;
            std::mem::take(&mut idle.connections)
        };
        drop(connections);
        self.returned.notify_waiters();
    }

    /// Runs `statement` (one statement, no parameters) in a read-only transaction and hands its
    /// rows to `read`, which may stop early; then queues the rollback. The connection is kept
    /// for the next call only if `read` read every row and nothing failed.
    pub(crate) async fn read_only<T, R, F>(
        &self,
        statement: &str,
        read: R,
    ) -> Result<T, StatementError>
    where
        R: FnOnce(Pin<Box<RowStream>>) -> F,
        F: Future<Output = Result<(T, ReadEnd), StatementError>>,
    {
        let connection = self.acquire().await?;
        let client = &connection.client;
        // Both requests leave on their first poll, in this order (`join` polls its futures in
        // the order given); neither waits for the other's answer.
        let begin = client.simple_query("BEGIN READ ONLY");
        let rows = client.query_typed_raw(statement, std::iter::empty::<(&str, Type)>());
        let (begun, rows) = futures_util::future::join(begin, rows).await;
        // A rollback queued behind the statement: it runs as soon as the statement has, and
        // undoes whatever the statement set; then what outlasts a rollback is discarded (its own
        // request: DISCARD ALL cannot run in a transaction block). Their answers are not waited
        // for.
        let _ = client.batch_execute("ROLLBACK").now_or_never();
        let _ = client.batch_execute(DISCARD).now_or_never();
        if let Err(error) = begun {
            return Err(self.failed(connection, error.into()));
        }
        let rows = match rows {
            // The statement was refused (a syntax error, a missing table): the connection is as
            // good as before, the rollback already queued behind it.
            Err(error) if error.as_db_error().is_some() => {
                self.put_back(connection);
                return Err(error.into());
            }
            Err(error) => return Err(self.failed(connection, error.into())),
            Ok(rows) => rows,
        };
        match read(Box::pin(rows)).await {
            Ok((value, ReadEnd::AllRows)) => {
                self.put_back(connection);
                Ok(value)
            }
            Ok((value, ReadEnd::Stopped)) => {
                self.close_one(connection);
                Ok(value)
            }
            Err(error) => Err(self.failed(connection, error)),
        }
    }

    /// Runs `statement` (one statement, no parameters) in a read-write transaction and commits
    /// it; returns how many rows it affected. Rows it returns are read and dropped, each held to
    /// the message cap.
    pub(crate) async fn execute(&self, statement: &str) -> Result<u64, StatementError> {
        let connection = self.acquire().await?;
        match execute_on(&connection.client, statement).await {
            Ok(affected) => {
                self.put_back(connection);
                Ok(affected)
            }
            // The database refused the statement or the commit: the connection is as good as
            // before, the rollback done.
            Err(error) if error.as_db_error().is_some() => {
                self.put_back(connection);
                Err(error.into())
            }
            Err(error) => Err(self.failed(connection, error.into())),
        }
    }

    /// Closes `connection` after `error`; an error that says only that the connection closed
    /// becomes why it did, when its driver knows.
    fn failed(&self, connection: StatementConnection, error: StatementError) -> StatementError {
        let error = match (&error, connection.ended.get()) {
            (StatementError::Database(database), Some(why)) if database.is_closed() => {
                StatementError::Ended(why.clone())
            }
            _ => error,
        };
        self.close_one(connection);
        error
    }
}

/// Whether a reader read the statement's rows to the end, or stopped with some still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    AllRows,
    Stopped,
}

/// [`StatementConnections::execute`] on one connection.
async fn execute_on(client: &Client, statement: &str) -> Result<u64, tokio_postgres::Error> {
    let begin = client.simple_query("BEGIN READ WRITE");
    let rows = client.query_typed_raw(statement, std::iter::empty::<(&str, Type)>());
    let (begun, rows) = futures_util::future::join(begin, rows).await;
    // Sent now, behind the statement, and awaited once its rows are read: a commit that fails
    // (a deferred constraint) is the call's error. After a failed statement it rolls back.
    let mut commit = std::pin::pin!(client.simple_query("COMMIT"));
    let _ = futures_util::poll!(commit.as_mut());
    let _ = client.batch_execute(DISCARD).now_or_never();
    begun?;
    let mut rows = Box::pin(rows?);
    while let Some(row) = rows.next().await {
        if let Err(error) = row {
            // The statement failed after some rows; the commit rolls it back.
            let _ = commit.await;
            return Err(error);
        }
    }
    let affected = rows.rows_affected().unwrap_or(0);
    commit.await?;
    Ok(affected)
}
