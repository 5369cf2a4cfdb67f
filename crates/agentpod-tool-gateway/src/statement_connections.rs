//! The connections for its database tools (`query`, `execute`, `list_tables`, the
//! SQL-function tools), and how a statement runs on one: as the agent's role, in one round trip,
//! with every message the server sends held to a size, and nothing the statement does left
//! behind on the connection for the next call.
//!
//! sqlx, which served these tools before, waits for an answer after each step: `BEGIN READ
//! ONLY`, then the statement's parse and description, then its execution; three round trips
//! before the first row. tokio-postgres sends requests on one connection back to back without
//! waiting (pipelining) and runs a statement whose parameter types are given (all text here)
//! without a separate parse. So a read sends `BEGIN READ ONLY`, the statement, `ROLLBACK` and
//! `DISCARD ALL` at once, and the caller waits for the statement's answer alone. A write
//! (`execute`, a function tool) sends `BEGIN READ WRITE` and the statement, then, once the
//! statement has answered, `COMMIT` and `DISCARD ALL`: two round trips, so that a call the
//! gateway gives up on (its timeout) has never sent its commit.
//!
//! A connection given up on in the middle of a call has its server process ended
//! (`pg_terminate_backend`, from a connection of its own): closing the socket alone would leave
//! the agent's statement running (a sleep does not notice), holding its locks and one of the
//! role's connections. Its place under the cap is kept until the process is gone.
//!
//! What keeps a `query` from writing:
//! - The extended protocol takes one statement, inside a subquery: the text cannot end the
//!   transaction or start another.
//! - The transaction is read-only before the statement's first step, so nothing it calls can
//!   write, and it cannot be made read-write again once a query ran in it.
//! - The `ROLLBACK` queued behind the statement undoes any setting the statement changed, for
//!   the session too (`set_config(…, false)`): settings made in a transaction that rolls back are
//!   reverted. It also undoes what Postgres lets a read-only transaction do: create, overwrite
//!   and unlink large objects (`lo_from_bytea`, `lo_put`, `lo_unlink`), and send notifications.
//!   So a read does not run in the transaction the extended protocol opens around a statement
//!   alone, which commits, even though that would spare the server two requests per call.
//! - The connections are opened with `default_transaction_read_only`, so a statement that ran
//!   outside the transaction, were `BEGIN` ever refused, would still be read-only; such a
//!   connection is closed, not used again. (A write opens its transaction `READ WRITE`.)
//!
//! What keeps a statement from outlasting its call: the `DISCARD ALL` queued behind each ends
//! what a rollback or commit leaves (session advisory locks, settings an `execute` made, prepared
//! statements, temporary tables), so they can neither block the agent's later calls nor change
//! what they do. A connection goes back to the idle ones only once the transaction's end and the
//! `DISCARD ALL` have both answered that they succeeded (a task does that wait, so the caller does
//! not): a `DISCARD ALL` can fail (a `statement_timeout` the agent set, a cancel from its own
//! other call), and then nothing of its reset happened. Each message the server sends is held to
//! a size ([`CappedMessages`]), so a statement cannot make the gateway read a gigabyte-long error
//! or row whole.
//!
//! A connection is used again only after a call that read its statement's answer to the end
//! (a text that closes the `query` wrapper's parentheses can escape its `LIMIT`, so the row
//! limit alone does not say that); one given up on (the result cap, a timeout, an error of the
//! connection) is closed, which also ends what the server was still sending.
//!
//! `execute` runs the agent's text as one statement without reading its result columns' types:
//! they may be any (an enum, a composite), which tokio-postgres would otherwise look up on the
//! same connection while the statement's rows wait in line. The other statements are the
//! tools' own, whose columns are built-in types.

use std::ops::ControlFlow;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row, SimpleQueryMessage, SimpleQueryStream};

use crate::capped_messages::CappedMessages;
use crate::result_cap::RESULT_CAP_BYTES;

/// How long a connection closed at rest may take to say goodbye to the server.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long ending the server process of a connection given up on may wait for it to go.
const END_BACKEND_TIMEOUT: Duration = Duration::from_secs(5);

/// What ends whatever a statement left on its session; its own request, since it cannot run in
/// a transaction block.
const DISCARD: &str = "DISCARD ALL";

/// The largest message a connection reads: a row of the tools' statements is at most the result
/// cap and a few bytes of framing; an error or notice has no need to be larger.
const MAX_MESSAGE_BYTES: usize = RESULT_CAP_BYTES + 64 * 1024;

/// How long a call waits for a connection on its way back before it opens another (when it
/// may): the check of a returning connection is microseconds, unless what it waits for is stuck.
const RETURN_WAIT: Duration = Duration::from_millis(20);

/// The connections for statements: opened on demand up to a cap, kept while they are
/// reusable, closed with the issue.
pub(crate) struct StatementConnections {
    config: Arc<Config>,
    /// The longest a new connection may take, handshake included (a call's own timeout bounds
    /// it too; the connection opened ahead of the first call has only this).
    connect_timeout: Duration,
    pool: Arc<Pool>,
}

/// The open connections, shared with the tasks that put connections back after a call.
struct Pool {
    /// The longest the check of a returning connection may take (a commit or reset stuck on a
    /// lock, in a session whose statement timeout the agent turned off): past it the connection
    /// is closed.
    return_timeout: Duration,
    idle: Mutex<Idle>,
    /// One permit per open connection.
    slots: Arc<Semaphore>,
    /// Woken when a connection is put back or closed, for callers waiting for one.
    returned: Arc<Notify>,
}

#[derive(Default)]
struct Idle {
    connections: Vec<StatementConnection>,
    /// Connections whose last call's transaction end and reset are still being checked.
    returning: usize,
    closed: bool,
}

/// One open connection: its client, the task driving its socket, its place under the cap.
pub(crate) struct StatementConnection {
    client: Client,
    driver: JoinHandle<()>,
    /// Why the connection ended, when it ended with an error (the message cap, say): a call
    /// waiting on it learns only that it closed.
    ended: Arc<OnceLock<String>>,
    /// Set for a connection at rest that is closed with its issue: its driver says goodbye to
    /// the server (once the client is dropped) instead of being cut off.
    at_rest: bool,
    /// The server process serving it, ended when the connection is given up on mid-call.
    backend_pid: i32,
    /// How to reach the server again, for that.
    config: Arc<Config>,
    /// Its place under the cap, held until its server process is gone.
    slot: Option<OwnedSemaphorePermit>,
    /// Woken once that place is free, for callers waiting for one.
    returned: Arc<Notify>,
}

impl StatementConnection {
    /// Closes a connection between calls, with a goodbye to the server.
    fn close_at_rest(mut self) {
        self.at_rest = true;
    }
}

impl Drop for StatementConnection {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.driver.abort();
            return;
        };
        if self.at_rest {
            // A server that never answers the goodbye does not keep the driver forever.
            let driver = self.driver.abort_handle();
            runtime.spawn(async move {
                tokio::time::sleep(GOODBYE_TIMEOUT).await;
                driver.abort();
            });
            return;
        }
        // Given up on in the middle of a call (its timeout, the message cap, a reset that
        // failed): the socket is closed, but the server process may still be running the
        // agent's statement (a sleep notices no closed socket), holding its locks and counting
        // against the role's connections. It is ended, and the connection's place under the cap
        // is kept until it is. A connection whose socket is already closed has no process left
        // that is not already ending.
        let still_open = !self.client.is_closed();
        self.driver.abort();
        let slot = self.slot.take();
        if still_open {
            let config = Arc::clone(&self.config);
            let backend_pid = self.backend_pid;
            let returned = Arc::clone(&self.returned);
            runtime.spawn(async move {
                end_backend(&config, backend_pid).await;
                drop(slot);
                returned.notify_one();
            });
        }
    }
}

/// Why a statement failed: the database's refusal or error, a connection that could not be
/// opened or broke, or a row that did not decode.
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
    #[error("the database client did not queue a request at once")]
    NotQueued,
}

impl StatementError {
    /// The text the agent sees: the server's message and SQLSTATE for a database error (not the
    /// driver's framing), else what went wrong with the connection.
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

    /// A refusal by the database (a syntax error, a missing table, a failed commit), after which
    /// the connection itself is as good as before.
    fn is_the_databases(&self) -> bool {
        matches!(self, StatementError::Database(error) if error.as_db_error().is_some())
    }
}

/// How a statement's transaction is closed behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransactionEnd {
    /// `BEGIN READ ONLY` … `ROLLBACK`, not waited for by the caller.
    ReadOnlyRolledBack,
    /// `BEGIN READ WRITE` … `COMMIT`, sent once the statement answered; its answer is the
    /// call's.
    Committed,
}

impl TransactionEnd {
    fn begin(self) -> &'static str {
        match self {
            TransactionEnd::ReadOnlyRolledBack => "BEGIN READ ONLY",
            TransactionEnd::Committed => "BEGIN READ WRITE",
        }
    }

    fn end(self) -> &'static str {
        match self {
            TransactionEnd::ReadOnlyRolledBack => "ROLLBACK",
            TransactionEnd::Committed => "COMMIT",
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
            config: Arc::new(config),
            connect_timeout: statement_timeout,
            pool: Arc::new(Pool {
                return_timeout: statement_timeout,
                idle: Mutex::new(Idle::default()),
                slots: Arc::new(Semaphore::new(max_connections.max(1) as usize)),
                returned: Arc::new(Notify::new()),
            }),
        })
    }

    /// An idle connection; else the next one put back, when some are on their way back; else a
    /// new one while under the cap; else the next one put back or closed.
    async fn acquire(&self) -> Result<StatementConnection, StatementError> {
        loop {
            let returned = self.pool.returned.notified();
            let mut returned = std::pin::pin!(returned);
            // Registered before looking, so a connection put back in between still wakes us.
            returned.as_mut().enable();
            let returning = {
                let mut idle = self.pool.idle();
                if idle.closed {
                    return Err(StatementError::Closed);
                }
                while let Some(connection) = idle.connections.pop() {
                    if !connection.client.is_closed() {
                        return Ok(connection);
                    }
                }
                idle.returning
            };
            // A connection on its way back is microseconds away; a new one is a backend and a
            // SCRAM handshake. One that does not come back soon is not waited for.
            if returning > 0
                && tokio::time::timeout(RETURN_WAIT, returned.as_mut())
                    .await
                    .is_ok()
            {
                continue;
            }
            if let Ok(slot) = Arc::clone(&self.pool.slots).try_acquire_owned() {
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
            Ok((client, driver, ended, backend_pid)) => Ok(StatementConnection {
                client,
                driver,
                ended,
                at_rest: false,
                backend_pid,
                config: Arc::clone(&self.config),
                slot: Some(slot),
                returned: Arc::clone(&self.pool.returned),
            }),
            Err(error) => {
                drop(slot);
                self.pool.returned.notify_one();
                Err(error)
            }
        }
    }

    /// A new connection, the task driving it, why it ended (once it has) and its server process.
    async fn connect(&self) -> Result<Connected, StatementError> {
        let (client, driver, ended) = connect(&self.config).await?;
        let pid = client.simple_query("SELECT pg_backend_pid()").await?;
        let backend_pid = pid
            .iter()
            .find_map(|message| match message {
                SimpleQueryMessage::Row(row) => row.get(0).and_then(|pid| pid.parse().ok()),
                _ => None,
            })
            .unwrap_or(0);
        Ok((client, driver, ended, backend_pid))
    }

    /// Opens one connection ahead of the first call, unless one is open already.
    pub(crate) async fn open_one(&self) -> Result<(), StatementError> {
        let slot = {
            let idle = self.pool.idle();
            if idle.closed || !idle.connections.is_empty() {
                return Ok(());
            }
            match Arc::clone(&self.pool.slots).try_acquire_owned() {
                Ok(slot) => slot,
                Err(_) => return Ok(()),
            }
        };
        let connection = self.open(slot).await?;
        self.pool.put_back(connection);
        Ok(())
    }

    /// Closes the idle connections; the ones in use close as their calls end.
    pub(crate) fn close(&self) {
        let connections = {
            let mut idle = self.pool.idle();
            idle.closed = true;
            std::mem::take(&mut idle.connections)
        };
        for connection in connections {
            connection.close_at_rest();
        }
        self.pool.returned.notify_waiters();
    }

    /// Runs `statement` (one statement; `$1`, `$2`… are `text_parameters`, sent as text; its
    /// columns of built-in types) in a transaction that `ends` says how to close, handing each
    /// row to `visit` until it breaks. Returns how many rows the statement affected.
    ///
    /// What `visit` leaves unread: a read-only statement's connection is closed rather than
    /// left to receive it (there is nothing of it to keep); a committed statement's rest is read
    /// and dropped, each message capped, so its commit keeps what it wrote (a function that
    /// writes, then returns more rows than the cap).
    pub(crate) async fn run(
        &self,
        ends: TransactionEnd,
        statement: &str,
        text_parameters: &[Option<String>],
        mut visit: impl FnMut(Row) -> Result<ControlFlow<()>, StatementError>,
    ) -> Result<u64, StatementError> {
        let connection = self.acquire().await?;
        let mut call = Call::new(ends);
        let parameters = text_parameters
            .iter()
            .map(|value| (value as &(dyn ToSql + Sync), Type::TEXT));
        let outcome = async {
            call.queue_begin(&connection.client)?;
            // tokio-postgres sends the statement when its future is first polled, and that
            // future waits for the statement's first answer; a read's end and reset are queued
            // right after that first poll, so all four requests leave together.
            let mut sending =
                std::pin::pin!(connection.client.query_typed_raw(statement, parameters));
            let first_poll = futures_util::poll!(sending.as_mut());
            if ends == TransactionEnd::ReadOnlyRolledBack {
                call.queue_end(&connection.client)?;
            }
            let rows = match first_poll {
                std::task::Poll::Ready(rows) => rows,
                std::task::Poll::Pending => sending.await,
            };
            let mut rows = std::pin::pin!(rows?);
            let mut stopped = false;
            while let Some(row) = rows.next().await {
                if visit(row?)?.is_break() {
                    stopped = true;
                    break;
                }
            }
            if stopped {
                match ends {
                    TransactionEnd::Committed => {
                        while let Some(row) = rows.next().await {
                            row?;
                        }
                    }
                    // A connection still receiving rows is closed rather than left to read
                    // them; one whose rows had ended (the row limit, the last row) is kept.
                    TransactionEnd::ReadOnlyRolledBack => {
                        if rows.next().await.is_some() {
                            call.reusable = false;
                        }
                    }
                }
            }
            Ok(rows.rows_affected().unwrap_or(0))
        }
        .await;
        call.finish(outcome, connection, &self.pool).await
    }

    /// Runs the agent's `text` (one statement, its result columns of any type) in a read-write
    /// transaction and commits it; returns how many rows it affected. Rows it returns are read
    /// and dropped, each message capped, without looking at their types.
    pub(crate) async fn execute(&self, text: &str) -> Result<u64, StatementError> {
        let connection = self.acquire().await?;
        let mut call = Call::new(TransactionEnd::Committed);
        let outcome = async {
            call.queue_begin(&connection.client)?;
            Ok(connection.client.execute_typed(text, &[]).await?)
        }
        .await;
        call.finish(outcome, connection, &self.pool).await
    }
}

impl Pool {
    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes `connection` available to the next call (closes it if the issue is finished).
    fn put_back(&self, connection: StatementConnection) {
        {
            let mut idle = self.idle();
            if idle.closed {
                drop(idle);
                connection.close_at_rest();
            } else {
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

    /// Waits for what `connection`'s call left queued (its transaction's end, the reset) to
    /// answer, then puts it back if all of it succeeded and closes it if not.
    fn put_back_after(self: &Arc<Pool>, connection: StatementConnection, pending: Vec<Pending>) {
        self.idle().returning += 1;
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            let checked = tokio::time::timeout(pool.return_timeout, async {
                let mut succeeded = true;
                for answers in pending {
                    succeeded &= drained(answers).await.is_ok();
                }
                succeeded
            });
            let succeeded = checked.await.unwrap_or(false);
            pool.idle().returning -= 1;
            if succeeded {
                pool.put_back(connection);
            } else {
                pool.close_one(connection);
            }
        });
    }
}

/// Answers still to come for a queued request.
type Pending = Pin<Box<SimpleQueryStream>>;

/// The transaction control of one call on one connection: what was queued, what is still to
/// answer, and whether the connection can serve another call.
struct Call {
    ends: TransactionEnd,
    begin: Option<Pending>,
    end: Option<Pending>,
    discard: Option<Pending>,
    reusable: bool,
}

impl Call {
    fn new(ends: TransactionEnd) -> Call {
        Call {
            ends,
            begin: None,
            end: None,
            discard: None,
            reusable: true,
        }
    }

    /// Queues `BEGIN`, to run before the statement queued next.
    fn queue_begin(&mut self, client: &Client) -> Result<(), StatementError> {
        self.begin = Some(queue(client, self.ends.begin())?);
        Ok(())
    }

    /// Queues the transaction's end and the reset behind the statement: they run as soon as it
    /// has (a commit after a failed statement rolls back).
    fn queue_end(&mut self, client: &Client) -> Result<(), StatementError> {
        self.end = Some(queue(client, self.ends.end())?);
        self.discard = Some(queue(client, DISCARD)?);
        Ok(())
    }

    /// Ends the call: checks `BEGIN`, waits for a commit's answer (the call's too), and returns
    /// the connection to the pool through a check of what is still to answer, or closes it.
    async fn finish(
        mut self,
        outcome: Result<u64, StatementError>,
        connection: StatementConnection,
        pool: &Arc<Pool>,
    ) -> Result<u64, StatementError> {
        let begun = match self.begin.take() {
            Some(begin) => drained(begin).await,
            None => Err(StatementError::NotQueued),
        };
        let mut outcome = begun.and(outcome);
        let answered = match &outcome {
            Ok(_) => true,
            Err(error) => error.is_the_databases(),
        };
        if self.ends == TransactionEnd::Committed && self.end.is_none() && answered {
            // The commit (a rollback after a failed statement) is sent only now that the
            // statement has answered: a call given up on before this point has sent no commit,
            // and its server process, ended, commits nothing.
            if let Err(error) = self.queue_end(&connection.client) {
                outcome = Err(error);
            }
        }
        let queued = self.end.is_some() && self.discard.is_some();
        if self.ends == TransactionEnd::Committed
            && let Some(end) = self.end.take()
        {
            let committed = drained(end).await;
            if outcome.is_ok() {
                outcome = committed.map(|()| outcome.unwrap_or(0));
            }
        }
        let keep = queued
            && self.reusable
            && match &outcome {
                Ok(_) => true,
                Err(error) => error.is_the_databases(),
            };
        if !keep {
            return failed(pool, connection, outcome);
        }
        let pending: Vec<Pending> = self.end.into_iter().chain(self.discard).collect();
        pool.put_back_after(connection, pending);
        outcome
    }
}

/// Closes `connection`, and returns `outcome` with an error that says only that the connection
/// closed replaced by why it did, when its driver knows.
fn failed(
    pool: &Pool,
    connection: StatementConnection,
    outcome: Result<u64, StatementError>,
) -> Result<u64, StatementError> {
    let outcome = match (outcome, connection.ended.get()) {
        (Err(StatementError::Database(database)), Some(why)) if database.is_closed() => {
            Err(StatementError::Ended(why.clone()))
        }
        (outcome, _) => outcome,
    };
    pool.close_one(connection);
    outcome
}

/// Queues `text` as a simple query on `client`, without waiting: tokio-postgres sends a request
/// when its future is first polled, so requests queued one after the other reach the server in
/// that order. A future that does not finish on its first poll is an error rather than a
/// request left unsent.
fn queue(client: &Client, text: &str) -> Result<Pending, StatementError> {
    match client.simple_query_raw(text).now_or_never() {
        Some(queued) => Ok(Box::pin(queued?)),
        None => Err(StatementError::NotQueued),
    }
}

/// Reads every answer of a queued request; its error, if it failed.
async fn drained(mut answers: Pending) -> Result<(), StatementError> {
    while let Some(answer) = answers.next().await {
        answer?;
    }
    Ok(())
}

/// A connection as opened: its client, its driver, why it ended, its server process.
type Connected = (Client, JoinHandle<()>, Arc<OnceLock<String>>, i32);

/// A connection to `config`'s server over a TCP stream whose messages are capped, the task
/// driving it, and why it ended (once it has).
async fn connect(
    config: &Config,
) -> Result<(Client, JoinHandle<()>, Arc<OnceLock<String>>), StatementError> {
    let Some(Host::Tcp(host)) = config.get_hosts().first() else {
        return Err(StatementError::NoTcpHost);
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let stream = TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    let capped = CappedMessages::new(stream, MAX_MESSAGE_BYTES);
    let (client, mut connection) = config.connect_raw(capped, NoTls).await?;
    let ended = Arc::new(OnceLock::new());
    let why = Arc::clone(&ended);
    let driver = tokio::spawn(async move {
        // The reason is kept before the connection is dropped, which is what tells a call
        // waiting on it that it closed.
        if let Err(error) = (&mut connection).await {
            tracing::debug!(%error, "a database connection of the tool gateway ended");
            let _ = why.set(agentpod_error_chain::error_chain(&error));
        }
        drop(connection);
    });
    Ok((client, driver, ended))
}

/// Ends the server process `backend_pid` from a connection of its own (a role may end its own
/// processes), waiting until it has gone; gives up after [`END_BACKEND_TIMEOUT`], when the
/// issue's end will end it anyway.
async fn end_backend(config: &Config, backend_pid: i32) {
    let ending = async {
        let (client, driver, _) = connect(config).await?;
        let ended = client
            .simple_query(&format!(
                "SELECT pg_terminate_backend({backend_pid}, {})",
                END_BACKEND_TIMEOUT.as_millis()
            ))
            .await;
        drop(client);
        let _ = driver.await;
        ended.map(|_| ()).map_err(StatementError::from)
    };
    match tokio::time::timeout(END_BACKEND_TIMEOUT * 2, ending).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, backend_pid, "cannot end a database process given up on");
        }
        Err(_) => tracing::debug!(
            backend_pid,
            "ending a database process given up on took too long"
        ),
    }
}
