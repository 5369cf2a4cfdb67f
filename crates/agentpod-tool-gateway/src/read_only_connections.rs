//! The connections for the `query` tool, and how a `query` runs on one: as the agent's
//! role, in a read-only transaction, answered in one round trip.
//!
//! sqlx, which serves the other database tools, waits for an answer after each step: `BEGIN READ
//! ONLY`, then the statement's parse and description, then its execution; three round trips
//! before the first row. tokio-postgres sends requests on one connection back to back without
//! waiting (pipelining) and runs a statement whose parameter types are given (none here) without
//! a separate parse. So one call sends `BEGIN READ ONLY`, the statement and `ROLLBACK` at once;
//! the server runs them in that order, and the caller waits for the rows alone.
//!
//! What keeps the statement from writing:
//! - The extended protocol takes one statement, inside a subquery: the text cannot end the
//!   transaction or start another.
//! - The transaction is read-only before the statement's first step, so nothing it calls can
//!   write, and it cannot be made read-write again once a query ran in it.
//! - The `ROLLBACK` queued behind the statement undoes any setting the statement changed, for
//!   the session too (`set_config(…, false)`): settings made in a transaction that rolls back are
//!   reverted. The next call's requests queue behind it on the same connection.
//! - The connections are opened with `default_transaction_read_only`, so a statement that ran
//!   outside the transaction, were `BEGIN` ever refused, would still be read-only; such a
//!   connection is closed, not used again.
//!
//! A connection is used again only after a call that read its statement's answer to the end;
//! one given up on (the result cap, a timeout, an error of the connection) is closed, which also
//! ends what the server was still sending.

use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::pin::Pin;

use futures_util::FutureExt;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, RowStream};

/// The read-only connections: opened on demand up to a cap, kept while they are
/// reusable, closed with the issue.
pub(crate) struct ReadOnlyConnections {
    config: Config,
    idle: Mutex<Idle>,
    /// One permit per open connection.
    slots: Arc<Semaphore>,
    /// Woken when a connection is put back or closed, for callers waiting for one.
    returned: Notify,
}

#[derive(Default)]
struct Idle {
    connections: Vec<ReadOnlyConnection>,
    closed: bool,
}

/// One open connection: its client, the task driving its socket, its place under the cap.
pub(crate) struct ReadOnlyConnection {
    client: Client,
    driver: JoinHandle<()>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for ReadOnlyConnection {
    fn drop(&mut self) {
        // Closing the socket ends whatever the server was still sending for it.
        self.driver.abort();
    }
}

/// Why a `query` failed: the database's refusal or error, a connection that could not be opened
/// or broke, or a row that did not decode.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QueryError {
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
    #[error("the row's JSON did not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("the issue's database connections are closed")]
    Closed,
}

impl QueryError {
    /// The text the agent sees, in the shape of the other tools' database errors.
    pub(crate) fn describe(&self) -> String {
        match self {
            QueryError::Database(error) => match error.as_db_error() {
                Some(database) => {
                    format!(
                        "{} (SQLSTATE {})",
                        database.message(),
                        database.code().code()
                    )
                }
                None => error.to_string(),
            },
            other => other.to_string(),
        }
    }
}

impl ReadOnlyConnections {
    /// Connections to `database_url` (the role and database), at most `max_connections`
    /// open; the server cancels a statement after `statement_timeout`.
    pub(crate) fn new(
        database_url: &str,
        max_connections: u32,
        statement_timeout: Duration,
    ) -> Result<ReadOnlyConnections, tokio_postgres::Error> {
        let mut config = Config::from_str(database_url)?;
        config
            .options(format!(
                "-c default_transaction_read_only=on -c statement_timeout={}",
                statement_timeout.as_millis()
            ))
            .application_name("agentpod-tool-gateway")
            .connect_timeout(statement_timeout);
        Ok(ReadOnlyConnections {
            config,
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
    pub(crate) async fn acquire(&self) -> Result<ReadOnlyConnection, QueryError> {
        loop {
            let returned = self.returned.notified();
            let mut returned = std::pin::pin!(returned);
            // Registered before looking, so a connection put back in between still wakes us.
            returned.as_mut().enable();
            {
                let mut idle = self.idle();
                if idle.closed {
                    return Err(QueryError::Closed);
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

    async fn open(&self, slot: OwnedSemaphorePermit) -> Result<ReadOnlyConnection, QueryError> {
        let opened = self.config.connect(NoTls).await;
        let (client, connection) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                drop(slot);
                self.returned.notify_one();
                return Err(error.into());
            }
        };
        let driver = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a read-only connection of the tool gateway ended");
            }
        });
        Ok(ReadOnlyConnection {
            client,
            driver,
            _slot: slot,
        })
    }

    /// Opens one connection ahead of the first call, unless one is open already.
    pub(crate) async fn open_one(&self) -> Result<(), QueryError> {
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
    fn put_back(&self, connection: ReadOnlyConnection) {
        {
            let mut idle = self.idle();
            if !idle.closed {
                idle.connections.push(connection);
            }
        }
        self.returned.notify_one();
    }

    /// Closes a connection that must not be used again, and lets a waiting caller open another.
    fn close_one(&self, connection: ReadOnlyConnection) {
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
    pub(crate) async fn read_only<T, R, F>(&self, statement: &str, read: R) -> Result<T, QueryError>
    where
        R: FnOnce(Pin<Box<RowStream>>) -> F,
        F: Future<Output = Result<(T, ReadEnd), QueryError>>,
    {
        let connection = self.acquire().await?;
        let client = &connection.client;
        // Both requests leave on their first poll, in this order (`join` polls its futures in
        // the order given); neither waits for the other's answer.
        let begin = client.simple_query("BEGIN READ ONLY");
        let rows = client.query_typed_raw(statement, std::iter::empty::<(&str, Type)>());
        let (begun, rows) = futures_util::future::join(begin, rows).await;
        // A rollback queued behind the statement: it runs as soon as the statement has, and
        // undoes whatever the statement set. Its answer is not waited for.
        let _ = client.batch_execute("ROLLBACK").now_or_never();
        if let Err(error) = begun {
            self.close_one(connection);
            return Err(error.into());
        }
        let rows = match rows {
            Ok(rows) => rows,
            Err(error) => {
                // The statement was refused (a syntax error, a missing table): the connection
                // is as good as before, the rollback already queued behind it.
                if error.as_db_error().is_some() {
                    self.put_back(connection);
                } else {
                    self.close_one(connection);
                }
                return Err(error.into());
            }
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
            Err(error) => {
                self.close_one(connection);
                Err(error)
            }
        }
    }
}

/// Whether a reader read the statement's rows to the end, or stopped with some still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    AllRows,
    Stopped,
}
