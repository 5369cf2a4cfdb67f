//! `PodDatabase`: one pod's Postgres server, seeded once into a template and cloned per issue.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use agentpod_postgres_server::PostgresEndpoint;
use agentpod_spec::{BoundarySpec, Fixture, FixtureKind};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection, Row};
use tokio::sync::Mutex;

use crate::agent_role;
use crate::boundary_error::setup as boundary_setup;
use crate::catalog::Catalog;
use crate::copy_load::{self, CopyLoad};
use crate::database_name::{
    TEMPLATE_DATABASE, issue_database_name, quote_identifier, quote_literal,
};
use crate::effective_boundary::resolve;
use crate::{
    BoundaryError, BoundaryEvents, DbError, EffectiveBoundary, FixtureError, IssueDatabase,
    audit_schema, boundary_grants, csv_fixture, json_lines_fixture, sql_fixture, violation_log,
};

/// How long seeding waits for the last connection to the template to go away. Postgres refuses
/// to clone a database that has connections.
const TEMPLATE_RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin side of one pod's Postgres server: where it is, and an open superuser connection
/// used to create and drop issue databases (and their roles) quickly.
pub struct PodDatabase {
    endpoint: PostgresEndpoint,
    /// One connection, reused: opening a new one costs a SCRAM handshake per issue.
    admin: Mutex<PgConnection>,
    /// A second superuser connection for `prepare_next`'s slow work (dropping databases,
    /// cloning spares), opened on first use: an issue's own steps on `admin` (its hand-out, its
    /// events) never wait behind a clone. Roles are changed on `admin` alone, so an issue's
    /// grants and the drop of a retired role never race.
    maintenance: Mutex<Option<PgConnection>>,
    /// Live issue databases, by name.
    issue_databases: std::sync::Mutex<HashMap<String, LiveIssueDatabase>>,
    /// Counts issue databases created, to tell the newest.
    created: std::sync::atomic::AtomicU64,
    /// A clone of the template made ahead by `prepare_next`, with its role (which cannot log in
    /// yet): the next issue renames it and lets the role log in instead of waiting for a clone
    /// and a password hash.
    spare: std::sync::Mutex<Option<Spare>>,
    /// The same for the grader's clone (the gold actions' replay), when the run grades by them.
    grading_spare: std::sync::Mutex<Option<Spare>>,
    /// Issue databases the run is done with, dropped by the next `prepare_next`.
    retired: std::sync::Mutex<Vec<String>>,
    /// Their roles, dropped after them (a role cannot go while a database grants it anything).
    retired_roles: std::sync::Mutex<Vec<String>>,
    /// Superuser connections into live issue databases, being opened (and readied) by
    /// `prepare_next` while the agent works, for `collect_boundary_events` to read the issue's
    /// events without a new connection (a backend and a SCRAM handshake) after the agent. A
    /// quick agent's events wait for the one under way rather than open a second.
    event_connections: std::sync::Mutex<HashMap<String, EventConnection>>,
}

impl std::fmt::Debug for PodDatabase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PodDatabase")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl PodDatabase {
    /// A pod ready to serve issues from its template, with no issue database yet.
    fn serving(endpoint: &PostgresEndpoint, admin: PgConnection) -> Self {
        PodDatabase {
            endpoint: endpoint.clone(),
            admin: Mutex::new(admin),
            maintenance: Mutex::new(None),
            issue_databases: std::sync::Mutex::new(HashMap::new()),
            created: std::sync::atomic::AtomicU64::new(0),
            spare: std::sync::Mutex::new(None),
            grading_spare: std::sync::Mutex::new(None),
            retired: std::sync::Mutex::new(Vec::new()),
            retired_roles: std::sync::Mutex::new(Vec::new()),
            event_connections: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Creates the `agent` role and the template database, applies `fixtures` to it in order,
    /// grants the agent role access to the tables, and leaves the template without connections
    /// so it can be cloned.
    pub async fn seed(
        endpoint: &PostgresEndpoint,
        fixtures: &[Fixture],
    ) -> Result<PodDatabase, FixtureError> {
        let started = Instant::now();
        let mut admin = connect(endpoint, "postgres")
            .await
            .map_err(setup("connect to the pod's postgres server"))?;
        agent_role::ensure(&mut admin)
            .await
            .map_err(setup("create the agent role"))?;
        create_template(&mut admin)
            .await
            .map_err(setup("create the template database"))?;

        let mut template = connect(endpoint, TEMPLATE_DATABASE)
            .await
            .map_err(setup("connect to the template database"))?;
        for fixture in fixtures {
            apply_fixture(&mut template, fixture).await?;
        }
        agent_role::grant_table_access(&mut template)
            .await
            .map_err(setup("grant the agent role access to the fixture tables"))?;
        // Otherwise autovacuum soon connects to the freshly written template, and CREATE
        // DATABASE waits in 100 ms steps for any session to leave its source. This also gives
        // the agent's queries real statistics in every clone.
        sqlx::raw_sql("VACUUM ANALYZE")
            .execute(&mut template)
            .await
            .map_err(setup("vacuum and analyze the template database"))?;
        template
            .close()
            .await
            .map_err(setup("close the connection to the template database"))?;
        release_template(&mut admin)
            .await
            .map_err(setup("close every connection to the template database"))?;
        tracing::debug!(
            fixtures = fixtures.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "seeded template database"
        );
        Ok(PodDatabase::serving(endpoint, admin))
    }

    /// A server restored from a cached seed (see [`crate::seed_key`]): the template, the agent
    /// role and the boundary's grants and triggers are already there. Gives the agent role this
    /// pod's own password and resolves the boundary against the template's tables, as
    /// [`PodDatabase::apply_boundary`] would have; changes nothing in the template.
    pub async fn attach(
        endpoint: &PostgresEndpoint,
        boundary: Option<&BoundarySpec>,
    ) -> Result<(PodDatabase, EffectiveBoundary), BoundaryError> {
        let started = Instant::now();
        let mut admin = connect(endpoint, "postgres")
            .await
            .map_err(boundary_setup("connect to the pod's postgres server"))?;
        agent_role::ensure(&mut admin)
            .await
            .map_err(boundary_setup("check the agent role"))?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            quote_identifier(TEMPLATE_DATABASE)
        )))
        .execute(&mut admin)
        .await
        .map_err(boundary_setup("open the template database"))?;
        let catalog = read_catalog(endpoint).await;
        // Also after a failure: the template must be closed again to be cloned.
        let released = release_template(&mut admin).await.map_err(boundary_setup(
            "close every connection to the template database",
        ));
        let catalog = catalog?;
        released?;
        let effective = resolve(boundary, &catalog)?;
        tracing::debug!(
            tables = effective.tables.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "attached to the restored template database"
        );
        Ok((PodDatabase::serving(endpoint, admin), effective))
    }

    /// Clones the template into a new database only this issue uses.
    pub async fn create_issue_database(&self, issue_id: &str) -> Result<IssueDatabase, DbError> {
        self.create_database(issue_id, &self.spare).await
    }

    /// Clones the template for a grader (the gold clone): the grading spare when
    /// [`PodDatabase::prepare_next`] made one, never the next issue's.
    pub async fn create_grading_database(&self, label: &str) -> Result<IssueDatabase, DbError> {
        self.create_database(label, &self.grading_spare).await
    }

    async fn create_database(
        &self,
        issue_id: &str,
        spare: &std::sync::Mutex<Option<Spare>>,
    ) -> Result<IssueDatabase, DbError> {
        let name = issue_database_name(issue_id);
        let quoted = quote_identifier(&name);
        let create_error = |source| DbError::Create {
            name: name.clone(),
            source,
        };
        let mut admin = self.admin.lock().await;
        let spare = spare.lock().ok().and_then(|mut spare| spare.take());
        // A spare is renamed and its role, made with it, may log in from now on; otherwise the
        // template is cloned and the role made here. Either way the database accepts
        // connections only once its role alone may connect.
        let mut hand_out: Vec<String> = Vec::new();
        let (role, password) = match spare {
            Some(spare) => {
                let rename = format!(
                    "ALTER DATABASE {} RENAME TO {quoted}",
                    quote_identifier(&spare.database)
                );
                let renamed = sqlx::raw_sql(AssertSqlSafe(rename))
                    .execute(&mut *admin)
                    .await;
                match renamed {
                    Ok(_) => {
                        hand_out.push(format!(
                            "ALTER ROLE {} WITH LOGIN",
                            quote_identifier(&spare.role)
                        ));
                        (spare.role, spare.password)
                    }
                    Err(error) => {
                        tracing::debug!(%error, "cannot rename the spare clone; cloning the template");
                        self.retire(spare.database);
                        self.retire_role(spare.role);
                        self.clone_with_new_role(&mut admin, &name)
                            .await
                            .map_err(create_error)?
                    }
                }
            }
            None => self
                .clone_with_new_role(&mut admin, &name)
                .await
                .map_err(create_error)?,
        };
        // Roles of earlier issues, live or retired (not dropped yet), may no longer log in
        // anywhere.
        let retired_roles = self
            .retired_roles
            .lock()
            .map(|retired| retired.clone())
            .unwrap_or_default();
        for earlier in self.live_issue_roles().into_iter().chain(retired_roles) {
            hand_out.push(format!(
                "ALTER ROLE {} WITH NOLOGIN",
                quote_identifier(&earlier)
            ));
        }
        hand_out.push(format!(
            "ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS true"
        ));
        if let Err(source) = sqlx::raw_sql(AssertSqlSafe(hand_out.join("; ")))
            .execute(&mut *admin)
            .await
        {
            if let Err(drop_error) = drop_database_and_role(&mut admin, &name, &role).await {
                tracing::warn!(database = %name, error = %drop_error, "cannot drop half-created issue database");
            }
            return Err(create_error(source));
        }
        // Violations of this issue start here in the log. Without a JSON log the pod still
        // works; collecting events then reports why violations are unavailable.
        let log_offset = match violation_log::log_size(&mut admin).await {
            Ok(size) => size,
            Err(error) => {
                tracing::warn!(%error, "cannot read the size of the server's log");
                None
            }
        };
        self.remember_issue_database(&name, &role, log_offset);
        Ok(IssueDatabase {
            agent_url: self.endpoint.url(&role, &password, &name),
            admin_url: self.endpoint.admin_url(&name),
            name,
            role,
        })
    }

    /// Clones the template into `name`, closed, and makes the issue's role, which alone may
    /// connect to it once it opens. Returns the role and its password.
    async fn clone_with_new_role(
        &self,
        admin: &mut PgConnection,
        name: &str,
    ) -> Result<(String, String), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(create_closed_clone(name)))
            .execute(&mut *admin)
            .await?;
        let (role, password) = (agent_role::issue_role_name(), agent_role::new_password());
        let made = sqlx::raw_sql(AssertSqlSafe(role_for_closed_database(
            name, &role, &password, true,
        )))
        .execute(&mut *admin)
        .await;
        if let Err(error) = made {
            if let Err(drop_error) = drop_database_and_role(admin, name, &role).await {
                tracing::warn!(database = %name, error = %drop_error, "cannot drop half-created issue database");
            }
            return Err(error);
        }
        Ok((role, password))
    }

    fn retire_role(&self, role: String) {
        if let Ok(mut roles) = self.retired_roles.lock() {
            roles.push(role);
        }
    }

    /// Work for between issues, done while an agent runs so neither the next issue nor this
    /// one's grader need wait for it: drops the retired issue databases and clones the template
    /// into the spares `wanted` (one for the next issue, one for this issue's grader), which no
    /// role may connect to until `create_issue_database` or `create_grading_database` hands one
    /// out. Failures are only logged: the database is then cloned when it is needed, as usual,
    /// and a lost server is noticed elsewhere.
    pub async fn prepare_next(&self, wanted: Spares) {
        // The runner starts this once its issue was handed out; an issue handed out at the same
        // moment by another caller takes the admin connection first: its database is then the
        // newest, and its spare is gone before the check that makes the next one.
        drop(self.admin.lock().await);
        // First, so a quick agent finds it open (or under way).
        self.open_event_connection();
        self.drop_retired_and_clone_spares(wanted).await;
    }

    async fn drop_retired_and_clone_spares(&self, wanted: Spares) {
        let mut maintenance = self.maintenance.lock().await;
        if maintenance.is_none() {
            match connect(&self.endpoint, "postgres").await {
                Ok(connection) => *maintenance = Some(connection),
                Err(error) => {
                    tracing::debug!(%error, "cannot open the maintenance connection");
                    return;
                }
            }
        }
        let Some(connection) = maintenance.as_mut() else {
            return;
        };
        let retired = self
            .retired
            .lock()
            .map(|mut retired| std::mem::take(&mut *retired))
            .unwrap_or_default();
        for name in retired {
            let drop = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&name)
            );
            if let Err(error) = sqlx::raw_sql(AssertSqlSafe(drop))
                .execute(&mut *connection)
                .await
            {
                tracing::debug!(database = %name, %error, "cannot drop a retired issue database; trying again later");
                self.retire(name);
            }
        }
        let roles = self
            .retired_roles
            .lock()
            .map(|mut roles| std::mem::take(&mut *roles))
            .unwrap_or_default();
        // On `admin`, like every change to roles (see `maintenance`); a quick statement.
        for role in roles {
            let drop = format!("DROP ROLE IF EXISTS {}", quote_identifier(&role));
            if let Err(error) = sqlx::raw_sql(AssertSqlSafe(drop))
                .execute(&mut *self.admin.lock().await)
                .await
            {
                tracing::debug!(%role, %error, "cannot drop a retired issue role; trying again later");
                if let Ok(mut retired) = self.retired_roles.lock() {
                    retired.push(role);
                }
            }
        }
        for (wanted, spare, label) in [
            (wanted.next_issue, &self.spare, "spare"),
            (wanted.grading, &self.grading_spare, "grading-spare"),
        ] {
            if !wanted || spare.lock().is_ok_and(|spare| spare.is_some()) {
                continue;
            }
            let name = issue_database_name(label);
            if let Err(error) = sqlx::raw_sql(AssertSqlSafe(create_closed_clone(&name)))
                .execute(&mut *connection)
                .await
            {
                tracing::debug!(%error, label, "cannot prepare a spare clone of the template");
                continue;
            }
            // Its role now too, on `admin` like every change to roles: hashing the password
            // (SCRAM, thousands of rounds) is the slowest statement of a hand-out.
            let (role, password) = (agent_role::issue_role_name(), agent_role::new_password());
            let made = sqlx::raw_sql(AssertSqlSafe(role_for_closed_database(
                &name, &role, &password, false,
            )))
            .execute(&mut *self.admin.lock().await)
            .await;
            match made {
                Ok(_) => {
                    if let Ok(mut spare) = spare.lock() {
                        *spare = Some(Spare {
                            database: name,
                            role,
                            password,
                        });
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, label, "cannot make the spare clone's role");
                    self.retire(name);
                    self.retire_role(role);
                }
            }
        }
    }

    /// Starts opening the superuser connection that will read the newest issue database's
    /// events, and readies the statement that reads them; returns without waiting for it.
    fn open_event_connection(&self) {
        let Some(newest) = self.newest_issue_database() else {
            return;
        };
        let Ok(mut connections) = self.event_connections.lock() else {
            return;
        };
        // Only for a live database: one retired meanwhile is never read (and, once this lock
        // is let go, its retirement removes what is inserted here).
        if connections.contains_key(&newest) || !self.is_live(&newest) {
            return;
        }
        let endpoint = self.endpoint.clone();
        let database = newest.clone();
        let opening = tokio::spawn(async move {
            let mut connection = connect(&endpoint, &database).await?;
            audit_schema::warm_up(&mut connection).await?;
            Ok(connection)
        });
        connections.insert(newest, EventConnection { opening });
    }

    /// The events connection opened ahead for `database`, once it is open; `None` when none was
    /// started or it failed (the caller opens one).
    async fn take_event_connection(&self, database: &str) -> Option<PgConnection> {
        let mut ahead = self
            .event_connections
            .lock()
            .ok()
            .and_then(|mut connections| connections.remove(database))?;
        match (&mut ahead.opening).await {
            Ok(Ok(connection)) => Some(connection),
            Ok(Err(error)) => {
                tracing::debug!(%database, %error, "cannot open the events connection ahead");
                None
            }
            Err(_) => None,
        }
    }

    /// Done with an issue database: no longer the issue's, dropped by the next `prepare_next`
    /// (or with the pod), so dropping it costs the issue nothing.
    pub fn retire_issue_database(&self, database: IssueDatabase) {
        self.forget_issue_database(&database.name);
        self.retire(database.name);
        self.retire_role(database.role);
    }

    fn retire(&self, name: String) {
        if let Ok(mut retired) = self.retired.lock() {
            retired.push(name);
        }
    }

    /// Drops an issue database, closing whatever connections the agent left open.
    pub async fn drop_issue_database(&self, database: IssueDatabase) -> Result<(), DbError> {
        let mut admin = self.admin.lock().await;
        drop_database_and_role(&mut admin, &database.name, &database.role)
            .await
            .map_err(|source| DbError::Drop {
                name: database.name.clone(),
                source,
            })?;
        self.forget_issue_database(&database.name);
        Ok(())
    }

    /// After seeding, before serving: resolves the boundary against the template's tables,
    /// installs the agent's grants, the audit schema and its triggers. Without a boundary every
    /// table is writable, and changes are still captured. Changes nothing when the boundary
    /// does not fit the fixtures.
    pub async fn apply_boundary(
        &mut self,
        boundary: Option<&BoundarySpec>,
    ) -> Result<EffectiveBoundary, BoundaryError> {
        let started = Instant::now();
        let endpoint = self.endpoint.clone();
        let admin = self.admin.get_mut();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            quote_identifier(TEMPLATE_DATABASE)
        )))
        .execute(&mut *admin)
        .await
        .map_err(boundary_setup("open the template database"))?;
        let applied = install_boundary(&endpoint, admin, boundary).await;
        // Also after a failure: the template must be closed again to be cloned.
        let released = release_template(admin).await.map_err(boundary_setup(
            "close every connection to the template database",
        ));
        let effective = applied?;
        released?;
        tracing::debug!(
            tables = effective.tables.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "applied the boundary to the template database"
        );
        Ok(effective)
    }

    /// After an issue's agent ended, before dropping its database: ends every session of the
    /// issue's role (and lets it log in no more), then reads the changes and proposals the
    /// triggers recorded and the refusals the server logged for that role. Everything is read
    /// after the last session ended, so a late write is recorded too; an error here means the
    /// issue was not observed, and the caller must not pass it.
    pub async fn collect_boundary_events(
        &self,
        database: &IssueDatabase,
    ) -> Result<BoundaryEvents, DbError> {
        let name = database.name.clone();
        let events_error = |action: &'static str| {
            let name = name.clone();
            move |source| DbError::Events {
                name,
                action,
                source,
            }
        };
        let log_offset = self
            .issue_databases
            .lock()
            .ok()
            .and_then(|databases| {
                databases
                    .get(&database.name)
                    .and_then(|live| live.log_offset)
            })
            .ok_or_else(|| DbError::NoViolationLog { name: name.clone() })?;
        let started = Instant::now();
        {
            let mut admin = self.admin.lock().await;
            end_sessions(&mut admin, &database.role)
                .await
                .map_err(events_error("end the agent's sessions"))?
                .then_some(())
                .ok_or_else(|| DbError::SessionsOutlived { name: name.clone() })?;
        }

        let sessions_ended = started.elapsed();
        // Changes and proposals (in the issue's database) and refusals (in the server's log)
        // are read at once, each on a connection of its own.
        let read_audit = async {
            let opened_ahead = self.take_event_connection(&database.name).await;
            let mut collected = None;
            if let Some(mut connection) = opened_ahead {
                // A connection that broke during a long agent run is replaced, not trusted.
                if let Ok(events) = audit_schema::read_events(&mut connection).await {
                    collected = Some((connection, Ok(events)));
                }
            }
            let (connection, collected) = match collected {
                Some(collected) => collected,
                None => {
                    let mut connection = connect(&self.endpoint, &database.name)
                        .await
                        .map_err(events_error("connect as the superuser"))?;
                    let events = audit_schema::read_events(&mut connection).await;
                    (connection, events)
                }
            };
            // Closed off the issue's path: nothing waits for the server to see it go.
            tokio::spawn(async move {
                if let Err(error) = connection.close().await {
                    tracing::debug!(%error, "closing the event connection failed");
                }
            });
            let events = collected.map_err(events_error("read changes and proposals"))?;
            Ok::<_, DbError>((events, started.elapsed()))
        };
        let read_log = async {
            let mut admin = self.admin.lock().await;
            let entries = violation_log::entries_since(&mut admin, log_offset, &database.role)
                .await
                .map_err(|error| match error {
                    violation_log::LogError::Query(source) => DbError::Events {
                        name: name.clone(),
                        action: "read violations from the server's log",
                        source,
                    },
                    violation_log::LogError::TooLarge { bytes } => DbError::LogTooLarge {
                        name: name.clone(),
                        bytes,
                    },
                    violation_log::LogError::Incomplete => {
                        DbError::LogIncomplete { name: name.clone() }
                    }
                })?;
            Ok::<_, DbError>((entries, started.elapsed()))
        };
        let (audit, log) = tokio::join!(read_audit, read_log);
        let ((changes, proposals), audit_read) = audit?;
        let (entries, log_read) = log?;
        // Where reading the events goes, for `scripts/bench-throughput`'s profile.
        tracing::debug!(
            database = %name,
            sessions_ms = sessions_ended.as_secs_f64() * 1e3,
            audit_ms = (audit_read - sessions_ended).as_secs_f64() * 1e3,
            log_ms = (log_read - sessions_ended).as_secs_f64() * 1e3,
            "boundary events read"
        );
        // Every entry names the role of the session that wrote it, and the role is this
        // issue's alone: a refused connection, a statement left running, an attempt against
        // another database are all this issue's, whatever the time.
        let violations = entries
            .into_iter()
            .filter(violation_log::LogEntry::is_agent_violation)
            .map(violation_log::LogEntry::into_violation)
            .collect();
        Ok(BoundaryEvents {
            changes,
            proposals,
            violations,
        })
    }

    fn remember_issue_database(&self, name: &str, role: &str, log_offset: Option<u64>) {
        let order = self
            .created
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut databases) = self.issue_databases.lock() {
            databases.insert(
                name.to_owned(),
                LiveIssueDatabase {
                    log_offset,
                    order,
                    role: role.to_owned(),
                },
            );
        }
    }

    fn forget_issue_database(&self, name: &str) {
        if let Ok(mut databases) = self.issue_databases.lock() {
            databases.remove(name);
        }
        // Dropped, not closed (one still opening is stopped): the database goes with FORCE,
        // which ends the session anyway.
        if let Ok(mut connections) = self.event_connections.lock() {
            connections.remove(name);
        }
    }

    fn is_live(&self, name: &str) -> bool {
        self.issue_databases
            .lock()
            .is_ok_and(|databases| databases.contains_key(name))
    }

    fn newest_issue_database(&self) -> Option<String> {
        let databases = self.issue_databases.lock().ok()?;
        databases
            .iter()
            .max_by_key(|(_, live)| live.order)
            .map(|(name, _)| name.clone())
    }

    fn live_issue_roles(&self) -> Vec<String> {
        self.issue_databases
            .lock()
            .map(|databases| databases.values().map(|live| live.role.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether the pod's server still answers: `SELECT 1` on the admin connection within a few
    /// seconds (a server that went away broke it). The runner asks after every issue, to tell
    /// an agent's failure from a pod's.
    pub async fn is_serving(&self) -> bool {
        let probe = async {
            let mut admin = self.admin.lock().await;
            sqlx::query("SELECT 1").execute(&mut *admin).await.map(drop)
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(5), probe).await,
            Ok(Ok(()))
        )
    }

    /// Closes the superuser connections. Issue databases still present stay; they go with the pod.
    pub async fn close(self) {
        let connections =
            std::iter::once(self.admin.into_inner()).chain(self.maintenance.into_inner());
        for connection in connections {
            if let Err(error) = connection.close().await {
                tracing::debug!(%error, "closing a superuser connection failed");
            }
        }
    }
}

/// A superuser connection into an issue database, being opened while its agent works.
#[derive(Debug)]
struct EventConnection {
    opening: tokio::task::JoinHandle<Result<PgConnection, sqlx::Error>>,
}

impl Drop for EventConnection {
    /// Never read: whatever it opened goes with it.
    fn drop(&mut self) {
        self.opening.abort();
    }
}

/// Which spare clones [`PodDatabase::prepare_next`] makes ahead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spares {
    /// One for the next issue.
    pub next_issue: bool,
    /// One for this issue's grader (the gold actions' replay).
    pub grading: bool,
}

/// Drops a database and then its role: two statements, since `DROP DATABASE` cannot run in
/// the implicit transaction of a multi-statement query.
async fn drop_database_and_role(
    admin: &mut PgConnection,
    database: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    for statement in [
        format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_identifier(database)
        ),
        format!("DROP ROLE IF EXISTS {}", quote_identifier(role)),
    ] {
        sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(&mut *admin)
            .await?;
    }
    Ok(())
}

/// How long the sessions of a role get to go away once terminated.
const SESSION_END_TIMEOUT: Duration = Duration::from_secs(5);

/// Forbids `role` to log in and terminates its sessions until none is left; `false` when one
/// was still there after [`SESSION_END_TIMEOUT`]. The role's settings go too, in every database:
/// every role can read every other's (`pg_roles.rolconfig`), so an agent could leave a message
/// there for the issues after it.
///
/// Usually one round trip: the role's change is committed first, then the server terminates the
/// role's sessions and watches them go every ms itself, and the last statement counts what is
/// left. There is usually one to end: the tool gateway's connection for the issue, closing as
/// the agent ends. (`pg_terminate_backend`'s own wait checks every 100 ms.) A login that passed
/// its check just before the role's change shows up a moment later: the count sees it, and it
/// is ended the same way.
async fn end_sessions(admin: &mut PgConnection, role: &str) -> Result<bool, sqlx::Error> {
    let quoted = quote_identifier(role);
    let literal = quote_literal(role);
    let wait_ms = SESSION_END_TIMEOUT.as_millis();
    let terminate = format!(
        "DO $end$ DECLARE deadline timestamptz := clock_timestamp() + interval '{wait_ms} ms'; BEGIN
           LOOP
             -- pg_stat_activity is read once per transaction unless told to read it again.
             PERFORM pg_stat_clear_snapshot();
             PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {literal};
             EXIT WHEN NOT FOUND OR clock_timestamp() >= deadline;
             PERFORM pg_sleep(0.001);
           END LOOP;
           PERFORM pg_stat_clear_snapshot();
         END $end$;
         SELECT count(*) AS remaining FROM pg_stat_activity WHERE usename = {literal}"
    );
    let mut statement = format!(
        "BEGIN;
         ALTER ROLE {quoted} WITH NOLOGIN;
         ALTER ROLE {quoted} RESET ALL;
         DO $reset$ DECLARE database_name text; BEGIN
           FOR database_name IN SELECT d.datname::text FROM pg_db_role_setting s
               JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase
               WHERE r.rolname = {literal}
           LOOP
             EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', {literal}, database_name);
           END LOOP;
         END $reset$;
         COMMIT;
         {terminate}"
    );
    let deadline = Instant::now() + SESSION_END_TIMEOUT;
    loop {
        let rows = sqlx::raw_sql(AssertSqlSafe(statement))
            .fetch_all(&mut *admin)
            .await?;
        let remaining: i64 = rows
            .last()
            .ok_or(sqlx::Error::RowNotFound)?
            .try_get("remaining")?;
        if remaining == 0 {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        statement = terminate.clone();
    }
}

async fn connect(endpoint: &PostgresEndpoint, database: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnectOptions::new()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(&endpoint.user)
        .password(&endpoint.password)
        .database(database)
        .application_name("agentpod")
        // Fixture batches can be megabytes of SQL; logging them would drown everything else.
        .disable_statement_logging()
        .connect()
        .await
}

async fn read_catalog(endpoint: &PostgresEndpoint) -> Result<Catalog, BoundaryError> {
    let mut template = connect(endpoint, TEMPLATE_DATABASE)
        .await
        .map_err(boundary_setup("connect to the template database"))?;
    let catalog = Catalog::read(&mut template)
        .await
        .map_err(boundary_setup("read the tables of the template database"))?;
    template.close().await.map_err(boundary_setup(
        "close the connection to the template database",
    ))?;
    Ok(catalog)
}

/// What the pod remembers of an issue database until it is dropped.
#[derive(Debug, Clone)]
struct LiveIssueDatabase {
    /// The role the issue's agent logs in as.
    role: String,
    /// The size of the server's JSON log when the database was created, where its violations
    /// start; `None` when the server keeps no JSON log.
    log_offset: Option<u64>,
    /// Creation order within the pod.
    order: u64,
}

/// The boundary's work inside the template: one transaction, so a failure leaves the template
/// as seeding left it.
async fn install_boundary(
    endpoint: &PostgresEndpoint,
    admin: &mut PgConnection,
    boundary: Option<&BoundarySpec>,
) -> Result<EffectiveBoundary, BoundaryError> {
    let mut template = connect(endpoint, TEMPLATE_DATABASE)
        .await
        .map_err(boundary_setup("connect to the template database"))?;
    let catalog = Catalog::read(&mut template)
        .await
        .map_err(boundary_setup("read the tables of the template database"))?;
    let effective = resolve(boundary, &catalog)?;
    boundary_grants::restrict_role(admin)
        .await
        .map_err(boundary_setup("restrict the agent role"))?;

    let response = boundary
        .map(|boundary| boundary.on_proposal)
        .unwrap_or_default();
    let pairs: Vec<_> = catalog.tables.iter().zip(&effective.tables).collect();
    let triggers: Vec<String> = pairs
        .iter()
        .flat_map(|(table, effective)| audit_schema::triggers(table, effective, response))
        .collect();
    let mut transaction = sqlx::Connection::begin(&mut template)
        .await
        .map_err(boundary_setup("begin the boundary transaction"))?;
    audit_schema::create(&mut transaction)
        .await
        .map_err(boundary_setup("create the audit schema"))?;
    boundary_grants::grant(&mut transaction, &pairs)
        .await
        .map_err(boundary_setup("grant the agent role its boundary"))?;
    audit_schema::install_triggers(&mut transaction, triggers)
        .await
        .map_err(boundary_setup("install the audit triggers"))?;
    transaction
        .commit()
        .await
        .map_err(boundary_setup("commit the boundary"))?;
    template.close().await.map_err(boundary_setup(
        "close the connection to the template database",
    ))?;
    Ok(effective)
}

fn setup(action: &'static str) -> impl FnOnce(sqlx::Error) -> FixtureError {
    move |source| FixtureError::Setup { action, source }
}

/// Starts from an empty template every time: a pod's server may be seeded again.
async fn create_template(admin: &mut PgConnection) -> Result<(), sqlx::Error> {
    let template = quote_identifier(TEMPLATE_DATABASE);
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {template} WITH (FORCE)"
    )))
    .execute(&mut *admin)
    .await?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {template}")))
        .execute(&mut *admin)
        .await?;
    // Nobody but the superuser connects to the template or the maintenance databases; the
    // agent gets CONNECT on its own issue database only.
    sqlx::raw_sql(AssertSqlSafe(format!(
        "REVOKE ALL ON DATABASE {template} FROM PUBLIC; \
         REVOKE CONNECT ON DATABASE postgres FROM PUBLIC; \
         REVOKE CONNECT ON DATABASE template1 FROM PUBLIC"
    )))
    .execute(&mut *admin)
    .await?;
    Ok(())
}

async fn apply_fixture(template: &mut PgConnection, fixture: &Fixture) -> Result<(), FixtureError> {
    let file = fixture.path.as_path();
    let content = tokio::fs::read(file)
        .await
        .map_err(|source| FixtureError::Read {
            file: file.to_path_buf(),
            source,
        })?;
    let as_text = |content: Vec<u8>| {
        String::from_utf8(content).map_err(|error| FixtureError::Read {
            file: file.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
        })
    };
    let loads: Vec<CopyLoad> = match &fixture.kind {
        FixtureKind::Sql => return sql_fixture::apply(template, file, &as_text(content)?).await,
        FixtureKind::Csv { table } => {
            copy_load::ensure_table_exists(template, file, table).await?;
            vec![csv_fixture::parse(file, table, &content)?]
        }
        FixtureKind::JsonLines { table } => {
            copy_load::ensure_table_exists(template, file, table).await?;
            json_lines_fixture::parse(file, table, &as_text(content)?)?
        }
    };
    for load in &loads {
        if !load.is_empty() {
            load.run(template, file).await?;
        }
    }
    Ok(())
}

/// Closes the template to new sessions (autovacuum skips such databases unless wraparound
/// looms), ends the remaining ones and waits until the server has let go of them. Clones get
/// the default `ALLOW_CONNECTIONS true`; the flag is not copied.
async fn release_template(admin: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
        quote_identifier(TEMPLATE_DATABASE)
    )))
    .execute(&mut *admin)
    .await?;
    let deadline = Instant::now() + TEMPLATE_RELEASE_TIMEOUT;
    loop {
        let remaining: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(TEMPLATE_DATABASE)
        .fetch_one(&mut *admin)
        .await?;
        if remaining == 0 || Instant::now() >= deadline {
            // Past the deadline, CREATE DATABASE will report the leftover session itself.
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `CREATE DATABASE` for a clone of the template that nobody, the superuser included, may
/// connect to until `create_database` has set its grants and opens it.
/// A clone of the template made ahead, closed, with the role that will log in to it.
struct Spare {
    database: String,
    role: String,
    password: String,
}

/// The statements that make the role of `database` (a closed clone) and let it alone connect
/// once the database opens. Database privileges are not copied from the template: by default
/// every role may connect, which would let an agent reach another issue's database. TEMPORARY
/// stays (temporary tables and functions belong to the agent and carry no rights of their
/// own). A role made ahead of its issue (`login` false) cannot log in until it is handed out.
fn role_for_closed_database(database: &str, role: &str, password: &str, login: bool) -> String {
    let quoted = quote_identifier(database);
    format!(
        "{create_role}; \
         REVOKE ALL ON DATABASE {quoted} FROM PUBLIC; \
         GRANT CONNECT, TEMPORARY ON DATABASE {quoted} TO {role_quoted}",
        create_role = agent_role::create_issue_role(role, password, login),
        role_quoted = quote_identifier(role),
    )
}

fn create_closed_clone(name: &str) -> String {
    format!(
        "CREATE DATABASE {} TEMPLATE {} ALLOW_CONNECTIONS false",
        quote_identifier(name),
        quote_identifier(TEMPLATE_DATABASE)
    )
}
