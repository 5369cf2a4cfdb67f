//! `RunStore`: open (and migrate) the store — a SQLite file or a shared Postgres database, both
//! through sqlx's Any driver with one set of queries — write runs and outcomes, read them back.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, ConnectOptions, Executor, Row};

use crate::boundary_event::{BoundaryDetail, BoundaryEventKind, BoundaryEventRecord};
use crate::error::StoreError;
use crate::records::{
    EvaluationSet, NewRun, OutcomeRecord, OutcomeStatus, OwnTime, PendingTrial, RunRecord,
    RunStatus,
};
use crate::run_bundle::{READABLE_BUNDLE_FORMATS, RUN_BUNDLE_FORMAT, RunBundle};
use crate::run_sharding::{RunSharding, ShardRecord, work_index};
use crate::step::{IssueUsage, StepKind, StepRecord};
use crate::step_detail::StepDetail;
use crate::store_location::StoreLocation;
use crate::stored_time::{parse_stored_time, stored_time};

/// The SQL every store speaks is the common part of SQLite's and Postgres's (`$N` parameters,
/// `ON CONFLICT … DO UPDATE`, integers as 64 bits, flags as 0/1); where they differ (JSON
/// functions, the catalogue), a query asks its store's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

// A macro, not a const: `concat!` only takes literals. The dialects differ in how they read the
// spec's JSON and gather a merged run's shards into one JSON array.
macro_rules! run_columns {
    ($unprotected:literal, $shards:literal) => {
        concat!(
            "SELECT id, spec_name, spec_path, agent_version, runtime, pods, seed, issue_count,
                    trials, status, started_at, finished_at, summary_json, issues_sha256,
                    issues_total, ",
            $unprotected,
            " AS unprotected, shard_group, shard_part, shard_parts, sample_sha256, spec_sha256,
                    host, shard_idle_ms, (",
            $shards,
            " FROM run_shards s WHERE s.run_id = runs.id) AS shards_json
             FROM runs"
        )
    };
}

const SQLITE_RUN_COLUMNS: &str = run_columns!(
    "CASE WHEN coalesce(json_extract(spec_json, '$.agent.isolation'), 'sandbox') = 'none'
               AND json_extract(spec_json, '$.agent.image') IS NULL THEN 1 ELSE 0 END",
    "SELECT json_group_array(json_object('part', s.part, 'source_run_id', s.source_run_id,
                 'host', s.host, 'started_at', s.started_at, 'finished_at', s.finished_at,
                 'trials', s.trials, 'idle_ms', s.idle_ms))"
);

const POSTGRES_RUN_COLUMNS: &str = run_columns!(
    "CASE WHEN coalesce(spec_json::json #>> '{agent,isolation}', 'sandbox') = 'none'
               AND spec_json::json #>> '{agent,image}' IS NULL THEN 1 ELSE 0 END",
    "SELECT json_agg(json_build_object('part', s.part, 'source_run_id', s.source_run_id,
                 'host', s.host, 'started_at', s.started_at, 'finished_at', s.finished_at,
                 'trials', s.trials, 'idle_ms', s.idle_ms))::text"
);

/// A run's outcome rows in the order of its sample, each issue's trials in order (outcomes of
/// issues outside the sample, which only a damaged store has, first). The primary keys serve
/// it (`outcomes` by run, `run_issues` by run and issue); the sort into sample order is a small
/// part of reading 30,000 rows, and SQLite's planner does not trade it for an index on the
/// sample's positions (measured), so there is none.
const OUTCOMES_IN_SAMPLE_ORDER: &str = "SELECT o.* FROM outcomes o
     LEFT JOIN run_issues i ON i.run_id = o.run_id AND i.issue_id = o.issue_id
     WHERE o.run_id = $1 ORDER BY i.position NULLS FIRST, o.issue_id, o.trial";

/// Where the store lives, relative to the working directory, unless told otherwise.
pub const DEFAULT_STORE_PATH: &str = ".agentpod/runs.db";

/// Whether opening a Postgres store migrates it (to write) or leaves it as it is (to read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Migrations {
    Run,
    Leave,
}

/// A hold on one run in a shared store, for as long as a process runs it: a second process
/// that would run the same run (a shard resumed on another machine while the first still runs
/// it) is refused rather than racing it. On Postgres it is a session advisory lock held by a
/// connection of its own, so it goes when the process or its machine does; a SQLite store is one
/// machine's and holds nothing here.
#[derive(Debug)]
pub struct RunHold {
    _session: Option<AnyConnection>,
}

/// The advisory lock class of run holds (`agentpod` runs), beside the run id's hash.
const RUN_HOLD_LOCK_CLASS: i32 = 0x6170_7264;

/// The run store. Cheap to clone; all clones share one pool.
#[derive(Debug, Clone)]
pub struct RunStore {
    pub(crate) pool: AnyPool,
    pub(crate) dialect: Dialect,
    location: StoreLocation,
}

impl RunStore {
    /// Opens the store wherever `location` says, creating and migrating it as needed.
    pub async fn open_location(location: &StoreLocation) -> Result<Self, StoreError> {
        match location {
            StoreLocation::File(path) => Self::open(path).await,
            StoreLocation::Postgres(url) => Self::open_postgres(url).await,
        }
    }

    /// Opens an existing store to read it (see [`RunStore::open_to_read`]).
    pub async fn open_location_to_read(location: &StoreLocation) -> Result<Self, StoreError> {
        match location {
            StoreLocation::File(path) => Self::open_to_read(path).await,
            StoreLocation::Postgres(url) => Self::connect_postgres(url, Migrations::Leave).await,
        }
    }

    /// Opens the Postgres store at `url` and migrates it (the `migrations-postgres` folder: the
    /// SQLite store's schema, in Postgres's words). Any number of processes on any number of
    /// machines may hold it open and write at once: each run is its own rows, every write is one
    /// statement or one transaction, and Postgres serialises the migrations of two processes
    /// opening a new store at once (sqlx takes an advisory lock).
    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        Self::connect_postgres(url, Migrations::Run).await
    }

    /// Connects to the Postgres store at `url`; migrates it, or (to read) finds it already made
    /// and leaves it as it is, so a read-only command neither needs the right to create tables
    /// nor makes a store in a database that a mistyped URL names.
    async fn connect_postgres(url: &str, migrations: Migrations) -> Result<Self, StoreError> {
        // The Any driver's backends (SQLite, Postgres); only the first call in a process does it.
        sqlx::any::install_default_drivers();
        let location = StoreLocation::Postgres(url.to_string());
        let open_error = |source| StoreError::Open {
            store: location.to_string(),
            source,
        };
        let options = AnyConnectOptions::from_str(url)
            .map_err(open_error)?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        match migrations {
            Migrations::Run => {
                let mut migrator = sqlx::migrate!("./migrations-postgres");
                // A store a newer agentpod migrated stays usable by an older one on the team:
                // migrations only ever add.
                migrator.set_ignore_missing(true);
                migrator
                    .run(&pool)
                    .await
                    .map_err(|source| StoreError::Migrate {
                        store: location.to_string(),
                        source,
                    })?;
            }
            Migrations::Leave => {
                let (tables,): (i64,) = sqlx::query_as(
                    "SELECT count(*) FROM information_schema.tables
                     WHERE table_schema = current_schema() AND table_name = 'runs'",
                )
                .fetch_one(&pool)
                .await?;
                if tables == 0 {
                    return Err(StoreError::NoStore(location.to_string()));
                }
            }
        }
        Ok(Self {
            pool,
            dialect: Dialect::Postgres,
            location,
        })
    }

    /// Opens the store at `path`, creating the file and its directory if needed, and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDirectory {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        // Two agentpod processes opening a new store at once would race to create it, switch it
        // to WAL (which needs the database to themselves, so the busy timeout does not help)
        // and migrate it. An exclusive lock on a file beside the store, held from the first
        // connection until the migrations are done, makes the second wait and find it ready.
        let lock_path = path.with_extension("db.lock");
        let lock_error = |source| StoreError::Lock {
            path: lock_path.clone(),
            source,
        };
        let lock = lock_file(&lock_path).await.map_err(|source| {
            // A store that cannot be written (a read-only disk, another user's files) can
            // still be read: `open_to_read` falls back on these.
            if matches!(
                source.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) {
                StoreError::ReadOnly {
                    path: path.to_path_buf(),
                }
            } else {
                lock_error(source)
            }
        })?;
        let pool = sqlite_pool(
            path,
            SqliteConnectOptions::new().create_if_missing(true),
            4,
            // WAL lets `agentpod runs` read while a run writes. In WAL mode NORMAL loses no
            // commit when agentpod dies, only (maybe) the last ones when the machine does, and
            // `--resume` redoes those; it spares a sync per issue.
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;
             PRAGMA foreign_keys = ON;",
        )
        .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                store: path.display().to_string(),
                source,
            })?;
        drop(lock);
        Ok(Self {
            pool,
            dialect: Dialect::Sqlite,
            location: StoreLocation::File(path.to_path_buf()),
        })
    }

    /// Opens an existing store to read it: as [`RunStore::open`] does, or, when the store sits on
    /// a read-only file system (a disk the kernel remounted read-only after an error, a read-only
    /// mount), read-only and as it is, without migrating it. Writes through it fail.
    pub async fn open_to_read(path: &Path) -> Result<Self, StoreError> {
        match Self::open(path).await {
            Err(StoreError::ReadOnly { .. }) => {}
            other => return other,
        }
        // A store in WAL mode keeps committed writes in its `-wal` file until a checkpoint, so
        // when there is one SQLite must read it (with its `-shm` index, left beside it when the
        // disk went read-only). Without one, SQLite can only open the file on read-only media
        // when told the file cannot change, which on such media it cannot.
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let options = SqliteConnectOptions::new()
            .read_only(true)
            .immutable(!Path::new(&wal).exists());
        let pool = sqlite_pool(path, options, 1, "PRAGMA busy_timeout = 10000;").await?;
        Ok(Self {
            pool,
            dialect: Dialect::Sqlite,
            location: StoreLocation::File(path.to_path_buf()),
        })
    }

    /// The `SELECT … FROM runs` that [`run_from_row`] reads, in this store's dialect.
    fn run_columns(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => SQLITE_RUN_COLUMNS,
            Dialect::Postgres => POSTGRES_RUN_COLUMNS,
        }
    }

    /// Where the store is: its file, or its Postgres URL (printed without the password).
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Records a run and its sample, in one transaction.
    pub async fn create_run(&self, run: &NewRun) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO runs (id, spec_name, spec_path, agent_version, runtime, pods, seed, issue_count,
                               trials, status, started_at, spec_json, issues_sha256, issues_total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', $10, $11, $12, $13)",
        )
        .bind(&run.id)
        .bind(&run.spec_name)
        .bind(&run.spec_path)
        .bind(&run.agent_version)
        .bind(&run.runtime)
        .bind(run.pods as i64)
        // SQLite integers are signed; the seed round-trips through the same bit pattern.
        .bind(run.seed as i64)
        .bind(run.issues.len() as i64)
        .bind(i64::from(run.trials.max(1)))
        .bind(stored_time(&run.started_at))
        .bind(run.spec_json.to_string())
        .bind(run.evaluation_set.as_ref().map(|set| set.sha256.clone()))
        .bind(run.evaluation_set.as_ref().map(|set| set.issues as i64))
        .execute(&mut *transaction)
        .await?;
        insert_run_issues(&mut transaction, &run.id, &run.issues).await?;
        if let Some(sharding) = &run.sharding {
            insert_sharding(&mut transaction, &run.id, sharding).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// A shard resumed at `resumed_at` on `host` (before [`RunStore::reopen_run`]): the machine
    /// it runs on now (a dead shard resumed elsewhere says where it finished), and the time it
    /// lay dead, from the last sign of its lost attempt (its last outcome, its end, or its own
    /// resumption) to now, added to its idle time. Nothing for a run that is not a shard.
    pub async fn resume_shard(
        &self,
        run_id: &str,
        host: &str,
        resumed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let run =
            sqlx::query("SELECT started_at, finished_at, shard_resumed_at FROM runs WHERE id = $1")
                .bind(run_id)
                .fetch_one(&self.pool)
                .await?;
        let mut last_seen = parse_stored_time(&run.try_get::<String, _>("started_at")?)?;
        for column in ["finished_at", "shard_resumed_at"] {
            if let Some(time) = run.try_get::<Option<String>, &str>(column)? {
                last_seen = last_seen.max(parse_stored_time(&time)?);
            }
        }
        let mut ends =
            sqlx::query("SELECT started_at, duration_ms FROM outcomes WHERE run_id = $1")
                .bind(run_id)
                .fetch(&self.pool);
        while let Some(row) = ends.try_next().await? {
            let started_at = parse_stored_time(&row.try_get::<String, _>("started_at")?)?;
            let duration = chrono::Duration::milliseconds(row.try_get::<i64, _>("duration_ms")?);
            last_seen = last_seen.max(started_at + duration);
        }
        drop(ends);
        let idle_ms = (resumed_at - last_seen).num_milliseconds().max(0);
        sqlx::query(
            "UPDATE runs SET host = $1, shard_idle_ms = shard_idle_ms + $2, shard_resumed_at = $3
             WHERE id = $4 AND shard_part IS NOT NULL",
        )
        .bind(host)
        .bind(idle_ms)
        .bind(stored_time(&resumed_at))
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a run as ended and keeps its summary.
    pub async fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        finished_at: DateTime<Utc>,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET status = $1, finished_at = $2, summary_json = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(stored_time(&finished_at))
        .bind(summary.to_string())
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most recent runs first.
    pub async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} ORDER BY started_at DESC, id DESC LIMIT $1",
            self.run_columns()
        )))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Holds `run_id` for this process (see [`RunHold`]); [`StoreError::RunBusy`] when another
    /// process holds it.
    pub async fn hold_run(&self, run_id: &str) -> Result<RunHold, StoreError> {
        if self.dialect == Dialect::Sqlite {
            return Ok(RunHold { _session: None });
        }
        let mut session = self.pool.acquire().await?.detach();
        let (held,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(RUN_HOLD_LOCK_CLASS)
            .bind(run_id)
            .fetch_one(&mut session)
            .await?;
        if !held {
            return Err(StoreError::RunBusy(run_id.to_string()));
        }
        Ok(RunHold {
            _session: Some(session),
        })
    }

    /// The shards of `group` in this store (runs with a part, not a merged run), by part.
    pub async fn shard_runs(&self, group: &str) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} WHERE shard_group = $1 AND shard_part IS NOT NULL ORDER BY shard_part, id",
            self.run_columns()
        )))
        .bind(group)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Finds a run by its id or an unambiguous prefix of it; `latest` means the most recent run.
    pub async fn find_run(&self, id_or_prefix: &str) -> Result<RunRecord, StoreError> {
        if id_or_prefix == "latest" {
            return self
                .list_runs(1)
                .await?
                .pop()
                .ok_or_else(|| StoreError::RunNotFound(id_or_prefix.to_string()));
        }
        // A prefix compared as text, the same in both dialects (`LIKE` is case-blind in SQLite
        // and not in Postgres, and each escapes differently).
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} WHERE substr(id, 1, length($1)) = $1 ORDER BY id LIMIT 6",
            self.run_columns()
        )))
        .bind(id_or_prefix)
        .fetch_all(&self.pool)
        .await?;
        if let Some(exact) = rows
            .iter()
            .find(|row| row.get::<String, _>("id") == id_or_prefix)
        {
            return run_from_row(exact);
        }
        match rows.len() {
            0 => Err(StoreError::RunNotFound(id_or_prefix.to_string())),
            1 => run_from_row(&rows[0]),
            _ => Err(StoreError::AmbiguousRun {
                prefix: id_or_prefix.to_string(),
                candidates: rows
                    .iter()
                    .map(|row| row.get::<String, _>("id"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// A run's outcomes, in the order of its sample, each issue's trials in order.
    pub async fn outcomes(&self, run_id: &str) -> Result<Vec<OutcomeRecord>, StoreError> {
        let rows = sqlx::query(OUTCOMES_IN_SAMPLE_ORDER)
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(outcome_from_row).collect()
    }

    /// A run's outcomes as [`RunStore::outcomes`] gives them, handed to `each` one at a time as
    /// they are read, so a run can be written out without being held in memory whole.
    pub async fn for_each_outcome<E: From<StoreError>>(
        &self,
        run_id: &str,
        mut each: impl FnMut(OutcomeRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rows = sqlx::query(OUTCOMES_IN_SAMPLE_ORDER)
            .bind(run_id)
            .fetch(&self.pool);
        while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
            each(outcome_from_row(&row)?)?;
        }
        Ok(())
    }

    /// A run's outcomes as [`RunStore::outcomes`] gives them, in the same order, without what
    /// the agent wrote and how it was judged in detail: `output` is `None`, `exit` and `grade`
    /// are JSON null, `stdout` and `stderr` are empty (their sizes and truncation flags are
    /// kept). What figures read (status, reason, times, usage) is all there; it is a fraction of
    /// the bytes of a run, which reports of tens of thousands of trials are slowed by.
    pub async fn outcomes_without_texts(
        &self,
        run_id: &str,
    ) -> Result<Vec<OutcomeRecord>, StoreError> {
        let mut rows = sqlx::query(
            "SELECT o.run_id, o.issue_id, o.trial, o.pod_index, o.status, o.reason, 'null' AS exit,
                    o.started_at, o.duration_ms, NULL AS output_json, 'null' AS grade_json,
                    '' AS stdout, o.stdout_bytes, o.stdout_truncated, '' AS stderr,
                    o.stderr_bytes, o.stderr_truncated, o.llm_calls, o.tool_calls,
                    o.input_tokens, o.output_tokens, o.cost_usd, o.unpriced_calls,
                    o.budget_stops, o.model_retries, o.throttled_ms, o.prepare_ms, o.events_ms,
                    o.grade_ms, o.side_models_json
             FROM outcomes o
             LEFT JOIN run_issues i ON i.run_id = o.run_id AND i.issue_id = o.issue_id
             WHERE o.run_id = $1 ORDER BY i.position NULLS FIRST, o.issue_id, o.trial",
        )
        .bind(run_id)
        .fetch(&self.pool);
        // Row by row: the rows are not held beside the records made from them.
        let mut outcomes = Vec::new();
        while let Some(row) = rows.try_next().await? {
            outcomes.push(outcome_from_row(&row)?);
        }
        Ok(outcomes)
    }

    /// The ids of a run's sampled issues with at least one trial that has no finished outcome
    /// yet (none, or one that was interrupted or lost to an infrastructure error), in sample order.
    pub async fn pending_issue_ids(&self, run_id: &str) -> Result<Vec<String>, StoreError> {
        let pending: std::collections::HashSet<String> = self
            .pending_trials(run_id)
            .await?
            .into_iter()
            .map(|trial| trial.issue_id)
            .collect();
        Ok(self
            .run_issues(run_id)
            .await?
            .into_iter()
            .map(|(issue_id, _)| issue_id)
            .filter(|issue_id| pending.contains(issue_id))
            .collect())
    }

    /// Every (issue, trial) of a run without a finished outcome, trial by trial (trial 1 of
    /// every issue first, in sample order, then trial 2…), each issue as the run stored it.
    /// A shard's (`--shard K/N`) are only the pairs its part holds.
    pub async fn pending_trials(&self, run_id: &str) -> Result<Vec<PendingTrial>, StoreError> {
        let run = self.find_run(run_id).await?;
        let part = run.sharding.as_ref().and_then(RunSharding::shard_part);
        let rows = sqlx::query(
            "WITH RECURSIVE numbers(trial) AS (
                 SELECT 1 UNION ALL SELECT trial + 1 FROM numbers
                 WHERE trial < (SELECT trials FROM runs WHERE id = $1)
             )
             SELECT i.issue_id, i.position, n.trial, i.issue_json FROM run_issues i
             CROSS JOIN numbers n
             LEFT JOIN outcomes o
                 ON o.run_id = i.run_id AND o.issue_id = i.issue_id AND o.trial = n.trial
             WHERE i.run_id = $1
               AND (o.issue_id IS NULL OR o.status IN ('interrupted', 'infrastructure_error'))
             ORDER BY n.trial, i.position",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut pending = Vec::new();
        for row in &rows {
            let trial = row.try_get::<i64, _>("trial")? as u32;
            let position = row.try_get::<i64, _>("position")? as usize;
            if let Some(part) = part
                && !part.holds(work_index(position, trial, run.issue_count))
            {
                continue;
            }
            let (issue_id, issue) = issue_from_row(row)?;
            pending.push(PendingTrial {
                issue_id,
                trial,
                issue,
            });
        }
        Ok(pending)
    }

    /// A run's sampled issues as it stored them (id, fields, expected), in sample order.
    pub async fn run_issues(
        &self,
        run_id: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let rows = sqlx::query(
            "SELECT issue_id, issue_json FROM run_issues WHERE run_id = $1 ORDER BY position",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(issue_from_row).collect()
    }

    /// The spec a run was started with, as it stored it.
    pub async fn run_spec(&self, run_id: &str) -> Result<serde_json::Value, StoreError> {
        let row = sqlx::query("SELECT spec_json FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        parse_json(&row.try_get::<String, _>("spec_json")?)
    }

    /// Marks a run as running again, for `--resume` (whether there is anything left to do is the
    /// caller's question: a finished run may still hold issues lost to infrastructure errors).
    pub async fn reopen_run(&self, run_id: &str) -> Result<(), StoreError> {
        let updated =
            sqlx::query("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = $1")
                .bind(run_id)
                .execute(&self.pool)
                .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::RunNotFound(run_id.to_string()));
        }
        Ok(())
    }

    /// Keeps the boundary the run's pods enforced (the first pod to resolve it writes it).
    pub async fn set_run_boundary(
        &self,
        run_id: &str,
        boundary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET boundary_json = $1 WHERE id = $2 AND boundary_json IS NULL")
            .bind(boundary.to_string())
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn run_boundary(
        &self,
        run_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let row = sqlx::query("SELECT boundary_json FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        let text: Option<String> = match row {
            Some(row) => row.try_get("boundary_json")?,
            None => None,
        };
        text.as_deref().map(parse_json).transpose()
    }

    /// A run's boundary events, by issue in sample order, then trial, kind and order.
    pub async fn boundary_events(
        &self,
        run_id: &str,
    ) -> Result<Vec<BoundaryEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.issue_id, e.trial, e.kind, e.table_name, e.detail_json FROM boundary_events e
             LEFT JOIN run_issues i ON i.run_id = e.run_id AND i.issue_id = e.issue_id
             WHERE e.run_id = $1 ORDER BY i.position NULLS FIRST, e.issue_id, e.trial, e.kind, e.position",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// A run's steps, or one issue's, in sample order, then by trial and start time.
    pub async fn steps(
        &self,
        run_id: &str,
        issue_id: Option<&str>,
    ) -> Result<Vec<StepRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.issue_id, s.trial, s.kind, s.started_at, s.latency_ms, s.detail_json FROM steps s
             LEFT JOIN run_issues i ON i.run_id = s.run_id AND i.issue_id = s.issue_id
             WHERE s.run_id = $1 AND ($2 IS NULL OR s.issue_id = $2)
             ORDER BY i.position NULLS FIRST, s.issue_id, s.trial, s.started_at NULLS FIRST, s.kind, s.position",
        )
        .bind(run_id)
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(step_from_row).collect()
    }

    /// Writes one issue's outcome; called as soon as the issue ends.
    pub async fn record_outcome(&self, outcome: &OutcomeRecord) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        insert_outcome(&mut connection, outcome).await
    }

    /// Writes one issue's boundary events, in one transaction, in the order given.
    pub async fn record_boundary_events(
        &self,
        run_id: &str,
        events: &[BoundaryEventRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        insert_boundary_events(&mut transaction, run_id, events).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Writes one issue's steps (model calls, tool calls, spans), in one transaction, in order.
    pub async fn record_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        insert_steps(&mut transaction, run_id, steps).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Everything about one finished issue — its steps, its boundary events and its outcome — in
    /// one transaction: an issue is stored whole or not at all (then `--resume` runs it again).
    pub async fn record_issue_result(
        &self,
        outcome: &OutcomeRecord,
        events: &[BoundaryEventRecord],
        steps: &[StepRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        // A trial run again (`--resume` after an interrupted or lost attempt) replaces the
        // earlier attempt whole: its steps and events would otherwise outlive it where the new
        // attempt made fewer.
        for table in ["steps", "boundary_events"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE run_id = $1 AND issue_id = $2 AND trial = $3"
            )))
            .bind(&outcome.run_id)
            .bind(&outcome.issue_id)
            .bind(i64::from(outcome.trial))
            .execute(&mut *transaction)
            .await?;
        }
        insert_steps(&mut transaction, &outcome.run_id, steps).await?;
        insert_boundary_events(&mut transaction, &outcome.run_id, events).await?;
        insert_outcome(&mut transaction, outcome).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The whole run, for `agentpod export --bundle`.
    pub async fn export_bundle(&self, run_id: &str) -> Result<RunBundle, StoreError> {
        Ok(RunBundle {
            format: RUN_BUNDLE_FORMAT.to_string(),
            run: self.find_run(run_id).await?,
            spec: self.run_spec(run_id).await?,
            boundary: self.run_boundary(run_id).await?,
            issues: self.run_issues(run_id).await?,
            outcomes: self.outcomes(run_id).await?,
            boundary_events: self.boundary_events(run_id).await?,
            steps: self.steps(run_id, None).await?,
        })
    }

    /// Adds a bundled run to this store, whole or not at all; a run already here is refused.
    pub async fn import_bundle(&self, bundle: &RunBundle) -> Result<(), StoreError> {
        if !READABLE_BUNDLE_FORMATS.contains(&bundle.format.as_str()) {
            return Err(StoreError::BundleFormat(bundle.format.clone()));
        }
        let run = &bundle.run;
        if self
            .find_run(&run.id)
            .await
            .is_ok_and(|found| found.id == run.id)
        {
            return Err(StoreError::RunExists(run.id.clone()));
        }
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO runs (id, spec_name, spec_path, agent_version, runtime, pods, seed, issue_count,
                               trials, status, started_at, finished_at, spec_json, summary_json,
                               boundary_json, issues_sha256, issues_total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&run.id)
        .bind(&run.spec_name)
        .bind(&run.spec_path)
        .bind(&run.agent_version)
        .bind(&run.runtime)
        .bind(run.pods as i64)
        .bind(run.seed as i64)
        .bind(run.issue_count as i64)
        .bind(i64::from(run.trials.max(1)))
        .bind(run.status.as_str())
        .bind(stored_time(&run.started_at))
        .bind(run.finished_at.as_ref().map(stored_time))
        .bind(bundle.spec.to_string())
        .bind(run.summary.as_ref().map(|summary| summary.to_string()))
        .bind(bundle.boundary.as_ref().map(|boundary| boundary.to_string()))
        .bind(run.evaluation_set.as_ref().map(|set| set.sha256.clone()))
        .bind(run.evaluation_set.as_ref().map(|set| set.issues as i64))
        .execute(&mut *transaction)
        .await
        .map_err(|error| match &error {
            // Another process imported the same run since the check above.
            sqlx::Error::Database(database) if database.is_unique_violation() => {
                StoreError::RunExists(run.id.clone())
            }
            _ => StoreError::from(error),
        })?;
        insert_run_issues(&mut transaction, &run.id, &bundle.issues).await?;
        if let Some(sharding) = &run.sharding {
            insert_sharding(&mut transaction, &run.id, sharding).await?;
        }
        for outcome in &bundle.outcomes {
            insert_outcome(&mut transaction, outcome).await?;
        }
        insert_boundary_events(&mut transaction, &run.id, &bundle.boundary_events).await?;
        insert_steps(&mut transaction, &run.id, &bundle.steps).await?;
        transaction.commit().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A boundary event row (`issue_id, trial, kind, table_name, detail_json`).
pub(crate) fn event_from_row(row: &AnyRow) -> Result<BoundaryEventRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    let kind = BoundaryEventKind::parse(&kind)
        .ok_or_else(|| StoreError::Corrupt(format!("boundary event kind `{kind}`")))?;
    Ok(BoundaryEventRecord {
        issue_id: row.try_get("issue_id")?,
        trial: row.try_get::<i64, _>("trial")? as u32,
        detail: BoundaryDetail::from_json(
            kind,
            row.try_get("table_name")?,
            &row.try_get::<String, _>("detail_json")?,
        )?,
    })
}

/// A step row (`issue_id, trial, kind, started_at, latency_ms, detail_json`).
pub(crate) fn step_from_row(row: &AnyRow) -> Result<StepRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    let kind =
        StepKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("step kind `{kind}`")))?;
    Ok(StepRecord {
        issue_id: row.try_get("issue_id")?,
        trial: row.try_get::<i64, _>("trial")? as u32,
        started_at: row
            .try_get::<Option<String>, _>("started_at")?
            .as_deref()
            .map(parse_stored_time)
            .transpose()?,
        latency_ms: row.try_get("latency_ms")?,
        detail: StepDetail::from_json(kind, &row.try_get::<String, _>("detail_json")?)?,
    })
}

fn run_from_row(row: &AnyRow) -> Result<RunRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let summary: Option<String> = row.try_get("summary_json")?;
    let finished_at: Option<String> = row.try_get("finished_at")?;
    Ok(RunRecord {
        id: row.try_get("id")?,
        spec_name: row.try_get("spec_name")?,
        spec_path: row.try_get("spec_path")?,
        agent_version: row.try_get("agent_version")?,
        runtime: row.try_get("runtime")?,
        pods: row.try_get::<i64, _>("pods")? as usize,
        seed: row.try_get::<i64, _>("seed")? as u64,
        issue_count: row.try_get::<i64, _>("issue_count")? as usize,
        trials: row.try_get::<i64, _>("trials")? as u32,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("run status `{status}`")))?,
        started_at: parse_stored_time(&row.try_get::<String, _>("started_at")?)?,
        finished_at: finished_at.as_deref().map(parse_stored_time).transpose()?,
        summary: summary.as_deref().map(parse_json).transpose()?,
        unprotected: row.try_get::<i64, _>("unprotected")? != 0,
        evaluation_set: evaluation_set_from_row(row)?,
        sharding: sharding_from_row(row)?,
    })
}

/// A run's sharding, when it has a group (see `0011_shards.sql`).
fn sharding_from_row(row: &AnyRow) -> Result<Option<RunSharding>, StoreError> {
    let Some(group) = row.try_get::<Option<String>, _>("shard_group")? else {
        return Ok(None);
    };
    let text = |column: &str| -> Result<String, StoreError> {
        Ok(row
            .try_get::<Option<String>, _>(column)?
            .unwrap_or_default())
    };
    let shards_json: Option<String> = row.try_get("shards_json")?;
    let mut shards = Vec::new();
    for shard in shards_json
        .as_deref()
        .map(parse_json)
        .transpose()?
        .and_then(|value| value.as_array().cloned())
        .unwrap_or_default()
    {
        let field = |name: &str| shard[name].as_str().unwrap_or_default().to_string();
        let finished_at = field("finished_at");
        shards.push(ShardRecord {
            part: shard["part"].as_u64().unwrap_or(0) as u32,
            source_run_id: field("source_run_id"),
            host: field("host"),
            started_at: parse_stored_time(&field("started_at"))?,
            finished_at: (!finished_at.is_empty())
                .then(|| parse_stored_time(&finished_at))
                .transpose()?,
            trials: shard["trials"].as_u64().unwrap_or(0) as usize,
            idle_ms: shard["idle_ms"].as_u64().unwrap_or(0),
        });
    }
    shards.sort_by_key(|shard| shard.part);
    Ok(Some(RunSharding {
        group,
        part: row
            .try_get::<Option<i64>, _>("shard_part")?
            .map(|part| part as u32),
        parts: row.try_get::<Option<i64>, _>("shard_parts")?.unwrap_or(1) as u32,
        sample_sha256: text("sample_sha256")?,
        spec_sha256: text("spec_sha256")?,
        host: text("host")?,
        idle_ms: row.try_get::<i64, _>("shard_idle_ms")?.max(0) as u64,
        shards,
    }))
}

/// A run's sharding columns, and the shards a merged run was made from.
async fn insert_sharding(
    connection: &mut AnyConnection,
    run_id: &str,
    sharding: &RunSharding,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE runs SET shard_group = $1, shard_part = $2, shard_parts = $3, sample_sha256 = $4,
                         spec_sha256 = $5, host = $6, shard_idle_ms = $7
         WHERE id = $8",
    )
    .bind(&sharding.group)
    .bind(sharding.part.map(i64::from))
    .bind(i64::from(sharding.parts))
    .bind(&sharding.sample_sha256)
    .bind(&sharding.spec_sha256)
    .bind(&sharding.host)
    .bind(sharding.idle_ms as i64)
    .bind(run_id)
    .execute(&mut *connection)
    .await?;
    for shard in &sharding.shards {
        sqlx::query(
            "INSERT INTO run_shards (run_id, part, source_run_id, host, started_at, finished_at,
                                     trials, idle_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(run_id)
        .bind(i64::from(shard.part))
        .bind(&shard.source_run_id)
        .bind(&shard.host)
        .bind(stored_time(&shard.started_at))
        .bind(shard.finished_at.as_ref().map(stored_time))
        .bind(shard.trials as i64)
        .bind(shard.idle_ms as i64)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// The run's evaluation set, when both its digest and its size were recorded.
fn evaluation_set_from_row(row: &AnyRow) -> Result<Option<EvaluationSet>, StoreError> {
    let sha256: Option<String> = row.try_get("issues_sha256")?;
    let issues: Option<i64> = row.try_get("issues_total")?;
    Ok(sha256.zip(issues).map(|(sha256, issues)| EvaluationSet {
        sha256,
        issues: usize::try_from(issues).unwrap_or(0),
    }))
}

/// A sampled issue as stored: its id and its JSON.
fn issue_from_row(row: &AnyRow) -> Result<(String, serde_json::Value), StoreError> {
    Ok((
        row.try_get("issue_id")?,
        parse_json(&row.try_get::<String, _>("issue_json")?)?,
    ))
}

pub(crate) fn outcome_from_row(row: &AnyRow) -> Result<OutcomeRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let output: Option<String> = row.try_get("output_json")?;
    Ok(OutcomeRecord {
        run_id: row.try_get("run_id")?,
        issue_id: row.try_get("issue_id")?,
        trial: row.try_get::<i64, _>("trial")? as u32,
        pod_index: row.try_get::<i64, _>("pod_index")? as usize,
        status: OutcomeStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("outcome status `{status}`")))?,
        reason: row.try_get("reason")?,
        exit: parse_json(&row.try_get::<String, _>("exit")?)?,
        started_at: parse_stored_time(&row.try_get::<String, _>("started_at")?)?,
        duration_ms: row.try_get::<i64, _>("duration_ms")? as u64,
        output: output.as_deref().map(parse_json).transpose()?,
        grade: parse_json(&row.try_get::<String, _>("grade_json")?)?,
        stdout: row.try_get("stdout")?,
        stdout_bytes: row.try_get::<i64, _>("stdout_bytes")? as u64,
        stdout_truncated: row.try_get::<i64, _>("stdout_truncated")? != 0,
        stderr: row.try_get("stderr")?,
        stderr_bytes: row.try_get::<i64, _>("stderr_bytes")? as u64,
        stderr_truncated: row.try_get::<i64, _>("stderr_truncated")? != 0,
        usage: IssueUsage {
            llm_calls: row.try_get::<i64, _>("llm_calls")? as u32,
            tool_calls: row.try_get::<i64, _>("tool_calls")? as u32,
            input_tokens: row.try_get::<i64, _>("input_tokens")? as u64,
            output_tokens: row.try_get::<i64, _>("output_tokens")? as u64,
            cost_usd: row.try_get("cost_usd")?,
            unpriced_calls: row.try_get::<i64, _>("unpriced_calls")? as u32,
            budget_stops: row.try_get::<i64, _>("budget_stops")? as u32,
            model_retries: row.try_get::<i64, _>("model_retries")? as u32,
            throttled_ms: row.try_get("throttled_ms")?,
            side_models: row
                .try_get::<Option<String>, _>("side_models_json")?
                .map(|text| {
                    serde_json::from_str(&text).map_err(|error| {
                        StoreError::Corrupt(format!("side models' usage: {error}"))
                    })
                })
                .transpose()?
                .unwrap_or_default(),
        },
        own_time: OwnTime {
            prepare_ms: row.try_get("prepare_ms")?,
            events_ms: row.try_get("events_ms")?,
            grade_ms: row.try_get("grade_ms")?,
        },
    })
}

fn parse_json(text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::Value::from_str(text).map_err(|error| StoreError::Corrupt(format!("json: {error}")))
}

/// A run's sample, in sample order.
async fn insert_run_issues(
    connection: &mut AnyConnection,
    run_id: &str,
    issues: &[(String, serde_json::Value)],
) -> Result<(), StoreError> {
    for (position, (issue_id, issue)) in issues.iter().enumerate() {
        sqlx::query(
            "INSERT INTO run_issues (run_id, position, issue_id, issue_json) VALUES ($1, $2, $3, $4)",
        )
        .bind(run_id)
        .bind(position as i64)
        .bind(issue_id)
        .bind(issue.to_string())
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Writes one issue's outcome; called as soon as the issue ends.
async fn insert_outcome(
    connection: &mut AnyConnection,
    outcome: &OutcomeRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outcomes (run_id, issue_id, trial, pod_index, status, reason, exit,
             started_at, duration_ms, output_json, grade_json, stdout, stdout_bytes,
             stdout_truncated, stderr, stderr_bytes, stderr_truncated, llm_calls, tool_calls,
             input_tokens, output_tokens, cost_usd, unpriced_calls, budget_stops,
             model_retries, throttled_ms, prepare_ms, events_ms, grade_ms, side_models_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)
         ON CONFLICT (run_id, issue_id, trial) DO UPDATE SET
             pod_index = excluded.pod_index, status = excluded.status, reason = excluded.reason,
             exit = excluded.exit, started_at = excluded.started_at,
             duration_ms = excluded.duration_ms, output_json = excluded.output_json,
             grade_json = excluded.grade_json, stdout = excluded.stdout,
             stdout_bytes = excluded.stdout_bytes, stdout_truncated = excluded.stdout_truncated,
             stderr = excluded.stderr, stderr_bytes = excluded.stderr_bytes,
             stderr_truncated = excluded.stderr_truncated, llm_calls = excluded.llm_calls,
             tool_calls = excluded.tool_calls, input_tokens = excluded.input_tokens,
             output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd,
             unpriced_calls = excluded.unpriced_calls, budget_stops = excluded.budget_stops,
             model_retries = excluded.model_retries, throttled_ms = excluded.throttled_ms,
             prepare_ms = excluded.prepare_ms, events_ms = excluded.events_ms,
             grade_ms = excluded.grade_ms, side_models_json = excluded.side_models_json",
    )
    .bind(&outcome.run_id)
    .bind(&outcome.issue_id)
    .bind(i64::from(outcome.trial))
    .bind(outcome.pod_index as i64)
    .bind(outcome.status.as_str())
    .bind(without_nul(&outcome.reason))
    .bind(outcome.exit.to_string())
    .bind(stored_time(&outcome.started_at))
    .bind(outcome.duration_ms as i64)
    .bind(outcome.output.as_ref().map(|output| output.to_string()))
    .bind(outcome.grade.to_string())
    .bind(without_nul(&outcome.stdout))
    .bind(outcome.stdout_bytes as i64)
    .bind(i64::from(outcome.stdout_truncated))
    .bind(without_nul(&outcome.stderr))
    .bind(outcome.stderr_bytes as i64)
    .bind(i64::from(outcome.stderr_truncated))
    .bind(outcome.usage.llm_calls as i64)
    .bind(outcome.usage.tool_calls as i64)
    .bind(outcome.usage.input_tokens as i64)
    .bind(outcome.usage.output_tokens as i64)
    .bind(NullableFloat(outcome.usage.cost_usd))
    .bind(outcome.usage.unpriced_calls as i64)
    .bind(outcome.usage.budget_stops as i64)
    .bind(i64::from(outcome.usage.model_retries))
    .bind(outcome.usage.throttled_ms)
    .bind(outcome.own_time.prepare_ms)
    .bind(outcome.own_time.events_ms)
    .bind(outcome.own_time.grade_ms)
    .bind(
        (!outcome.usage.side_models.is_empty())
            .then(|| serde_json::to_string(&outcome.usage.side_models).unwrap_or_default()),
    )
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Writes one issue's boundary events, in one transaction, in the order given.
async fn insert_boundary_events(
    connection: &mut AnyConnection,
    run_id: &str,
    events: &[BoundaryEventRecord],
) -> Result<(), StoreError> {
    let mut positions: std::collections::HashMap<(&str, u32, BoundaryEventKind), i64> =
        Default::default();
    for event in events {
        let position = positions
            .entry((event.issue_id.as_str(), event.trial, event.kind()))
            .or_insert(0);
        sqlx::query(
            "INSERT INTO boundary_events (run_id, issue_id, trial, kind, position, table_name, detail_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (run_id, issue_id, trial, kind, position) DO UPDATE SET
                 table_name = excluded.table_name, detail_json = excluded.detail_json",
        )
        .bind(run_id)
        .bind(&event.issue_id)
        .bind(i64::from(event.trial))
        .bind(event.kind().as_str())
        .bind(*position)
        .bind(event.table())
        .bind(event.detail.to_json().to_string())
        .execute(&mut *connection)
        .await?;
        *position += 1;
    }
    Ok(())
}

/// Writes one issue's steps (model calls, tool calls, spans), in one transaction, in order.
async fn insert_steps(
    connection: &mut AnyConnection,
    run_id: &str,
    steps: &[StepRecord],
) -> Result<(), StoreError> {
    let mut positions: std::collections::HashMap<(&str, u32, StepKind), i64> = Default::default();
    for step in steps {
        let position = positions
            .entry((step.issue_id.as_str(), step.trial, step.kind()))
            .or_insert(0);
        sqlx::query(
            "INSERT INTO steps (run_id, issue_id, trial, kind, position, started_at, latency_ms, detail_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (run_id, issue_id, trial, kind, position) DO UPDATE SET
                 started_at = excluded.started_at, latency_ms = excluded.latency_ms,
                 detail_json = excluded.detail_json",
        )
        .bind(run_id)
        .bind(&step.issue_id)
        .bind(i64::from(step.trial))
        .bind(step.kind().as_str())
        .bind(*position)
        .bind(step.started_at.as_ref().map(stored_time))
        .bind(NullableFloat(step.latency_ms))
        .bind(step.detail.to_json().to_string())
        .execute(&mut *connection)
        .await?;
        *position += 1;
    }
    Ok(())
}

/// A pool on the SQLite file at `path`, through the Any driver. The Any driver takes only what a
/// URL says (the file, the mode, immutability), so `pragmas` set the rest on each connection.
async fn sqlite_pool(
    path: &Path,
    options: SqliteConnectOptions,
    connections: u32,
    pragmas: &'static str,
) -> Result<AnyPool, StoreError> {
    // The Any driver's backends (SQLite, Postgres); only the first call in a process does it.
    sqlx::any::install_default_drivers();
    let open_error = |source| StoreError::Open {
        store: path.display().to_string(),
        source,
    };
    let absolute = std::path::absolute(path).map_err(|error| open_error(sqlx::Error::Io(error)))?;
    let url = options.filename(&absolute).to_url_lossy();
    let options = AnyConnectOptions::from_url(&url).map_err(open_error)?;
    AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                connection.execute(pragmas).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(open_error)
}

/// Text as a store keeps it: Postgres refuses a NUL character in text (SQLite keeps it), and an
/// agent's output may hold one, so both stores keep U+FFFD in its place and read back alike.
fn without_nul(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// A nullable float parameter. sqlx 0.9's Any driver hands a null `f64` to Postgres as a null
/// `real` (and a null `f32` as a null `double precision`), and Postgres keeps the type of a
/// statement's first execution: a later non-null `f64` then fails with "incorrect binary data
/// format". Binding the null as an `f32`'s gives `double precision`, as a non-null `f64` does.
/// The Postgres store's tests write a null before a value in the same column, so a fix on
/// sqlx's side that undoes this shows there.
struct NullableFloat(Option<f64>);

impl sqlx::Type<sqlx::Any> for NullableFloat {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Any> for NullableFloat {
    fn encode_by_ref(
        &self,
        buffer: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(value) => <f64 as sqlx::Encode<sqlx::Any>>::encode_by_ref(&value, buffer),
            None => <Option<f32> as sqlx::Encode<sqlx::Any>>::encode_by_ref(&None, buffer),
        }
    }
}

/// How long an opener waits for another agentpod process to finish opening the same store.
const OPEN_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// Takes the exclusive lock on `path` (created if missing), waiting while another process holds
/// it — saying so once — and giving up after [`OPEN_LOCK_TIMEOUT`].
async fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::File::create(path)?;
    let deadline = std::time::Instant::now() + OPEN_LOCK_TIMEOUT;
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::Error(error)) => return Err(error),
            Err(std::fs::TryLockError::WouldBlock) => {}
        }
        if std::time::Instant::now() >= deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "another agentpod process has held it for {}s (stopped with Ctrl-Z?)",
                    OPEN_LOCK_TIMEOUT.as_secs()
                ),
            ));
        }
        if !said {
            tracing::info!(lock = %path.display(), "waiting for another agentpod process to finish opening the run store");
            said = true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
