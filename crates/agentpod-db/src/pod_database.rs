//! `PodDatabase`: one pod's Postgres server, seeded once into a template and cloned per issue.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use agentpod_runtime::PostgresEndpoint;
use agentpod_spec::{BoundarySpec, Fixture, FixtureKind};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};
use tokio::sync::Mutex;

use crate::agent_role::{self, AGENT_ROLE};
use crate::boundary_error::setup as boundary_setup;
use crate::catalog::Catalog;
use crate::copy_load::{self, CopyLoad};
use crate::database_name::{TEMPLATE_DATABASE, issue_database_name, quote_identifier};
use crate::effective_boundary::resolve;
use crate::{
    BoundaryError, BoundaryEvents, DbError, EffectiveBoundary, FixtureError, IssueDatabase,
    audit_schema, boundary_grants, csv_fixture, json_lines_fixture, sql_fixture, violation_log,
};

/// How long seeding waits for the last connection to the template to go away. Postgres refuses
/// to clone a database that has connections.
const TEMPLATE_RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin side of one pod's Postgres server: where it is, the agent role's password, and an
/// open superuser connection used to create and drop issue databases quickly.
pub struct PodDatabase {
    endpoint: PostgresEndpoint,
    agent_password: String,
    /// One connection, reused: opening a new one costs a SCRAM handshake per issue.
    admin: Mutex<PgConnection>,
    /// Live issue databases, by name.
    issue_databases: std::sync::Mutex<HashMap<String, LiveIssueDatabase>>,
    /// Counts issue databases created, to tell the newest.
    created: std::sync::atomic::AtomicU64,
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
        let agent_password = agent_role::new_password();
        agent_role::ensure(&mut admin, &agent_password)
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
        Ok(PodDatabase {
            endpoint: endpoint.clone(),
            agent_password,
            admin: Mutex::new(admin),
            issue_databases: std::sync::Mutex::new(HashMap::new()),
            created: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Clones the template into a new database only this issue uses.
    pub async fn create_issue_database(&self, issue_id: &str) -> Result<IssueDatabase, DbError> {
        let name = issue_database_name(issue_id);
        let quoted = quote_identifier(&name);
        let create_error = |source| DbError::Create {
            name: name.clone(),
            source,
        };
        let mut admin = self.admin.lock().await;
        let create = format!(
            "CREATE DATABASE {quoted} TEMPLATE {}",
            quote_identifier(TEMPLATE_DATABASE)
        );
        sqlx::raw_sql(AssertSqlSafe(create))
            .execute(&mut *admin)
            .await
            .map_err(create_error)?;
        // Database privileges are not copied from the template: by default every role may
        // connect, which would let an agent reach another issue's database. TEMPORARY stays:
        // temporary tables and functions belong to the agent and carry no rights of their own.
        // The one agent role serves every issue of the pod, and a pod serves issues one after
        // another, so the newest issue database is the only one it may still connect to.
        let agent = quote_identifier(AGENT_ROLE);
        let mut grants = format!(
            "REVOKE ALL ON DATABASE {quoted} FROM PUBLIC; \
             GRANT CONNECT, TEMPORARY ON DATABASE {quoted} TO {agent}"
        );
        for earlier in self.live_issue_databases() {
            grants.push_str(&format!(
                "; REVOKE CONNECT ON DATABASE {} FROM {agent}",
                quote_identifier(&earlier)
            ));
        }
        if let Err(source) = sqlx::raw_sql(AssertSqlSafe(grants))
            .execute(&mut *admin)
            .await
        {
            let drop = format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)");
            if let Err(drop_error) = sqlx::raw_sql(AssertSqlSafe(drop))
                .execute(&mut *admin)
                .await
            {
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
        self.remember_issue_database(&name, log_offset);
        Ok(IssueDatabase {
            agent_url: self.endpoint.url(AGENT_ROLE, &self.agent_password, &name),
            admin_url: self.endpoint.admin_url(&name),
            name,
        })
    }

    /// Drops an issue database, closing whatever connections the agent left open.
    pub async fn drop_issue_database(&self, database: IssueDatabase) -> Result<(), DbError> {
        let statement = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_identifier(&database.name)
        );
        let mut admin = self.admin.lock().await;
        sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(&mut *admin)
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

    /// After an issue's agent ended, before dropping its database: the changes and proposals
    /// the triggers recorded, and the violations the server logged for the agent since the
    /// database was created.
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
        let mut connection = connect(&self.endpoint, &database.name)
            .await
            .map_err(events_error("connect as the superuser"))?;
        let collected = audit_schema::read_events(&mut connection).await;
        if let Err(error) = connection.close().await {
            tracing::debug!(%error, "closing the event connection failed");
        }
        let (changes, proposals) = collected.map_err(events_error("read changes and proposals"))?;

        let (log_offset, others, newest) = {
            let databases = self
                .issue_databases
                .lock()
                .map_err(|_| DbError::NoViolationLog { name: name.clone() })?;
            let log_offset = databases
                .get(&database.name)
                .and_then(|live| live.log_offset)
                .ok_or_else(|| DbError::NoViolationLog { name: name.clone() })?;
            let others: Vec<String> = databases
                .keys()
                .filter(|other| *other != &database.name)
                .cloned()
                .collect();
            let newest = databases
                .iter()
                .max_by_key(|(_, live)| live.order)
                .is_some_and(|(newest, _)| newest == &database.name);
            (log_offset, others, newest)
        };
        let mut admin = self.admin.lock().await;
        let entries = violation_log::entries_since(&mut admin, log_offset)
            .await
            .map_err(events_error("read violations from the server's log"))?;
        drop(admin);
        // The pod serves one issue at a time, so the agent that tried is, as a rule, this
        // issue's. A refused connection names the database it tried to reach, not the one the
        // agent came from; only the newest issue's agent can still connect anywhere, so those
        // belong to the newest issue. Other entries belong to the database they name, or to
        // this issue when no other live issue owns it (the template, a dropped issue's).
        let violations = entries
            .into_iter()
            .filter(|entry| entry.is_agent_violation())
            .filter(|entry| {
                if entry.is_refused_connection() {
                    return newest;
                }
                entry
                    .dbname
                    .as_ref()
                    .is_none_or(|dbname| dbname == &database.name || !others.contains(dbname))
            })
            .map(violation_log::LogEntry::into_violation)
            .collect();
        Ok(BoundaryEvents {
            changes,
            proposals,
            violations,
        })
    }

    fn remember_issue_database(&self, name: &str, log_offset: Option<u64>) {
        let order = self
            .created
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut databases) = self.issue_databases.lock() {
            databases.insert(name.to_owned(), LiveIssueDatabase { log_offset, order });
        }
    }

    fn forget_issue_database(&self, name: &str) {
        if let Ok(mut databases) = self.issue_databases.lock() {
            databases.remove(name);
        }
    }

    fn live_issue_databases(&self) -> Vec<String> {
        self.issue_databases
            .lock()
            .map(|databases| databases.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Closes the admin connection. Issue databases still present stay; they go with the pod.
    /// Whether the pod's server still answers: a fresh connection and `SELECT 1` within a few
    /// seconds. The runner asks when an issue errored, to tell an agent's failure from a pod's.
    pub async fn is_serving(&self) -> bool {
        let probe = async {
            let mut connection = connect(&self.endpoint, "postgres").await?;
            sqlx::query("SELECT 1").execute(&mut connection).await?;
            connection.close().await
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(5), probe).await,
            Ok(Ok(()))
        )
    }

    pub async fn close(self) {
        if let Err(error) = self.admin.into_inner().close().await {
            tracing::debug!(%error, "closing the admin connection failed");
        }
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

/// What the pod remembers of an issue database until it is dropped.
#[derive(Debug, Clone, Copy)]
struct LiveIssueDatabase {
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
