//! The stored report model: a run's report figures as the report crate serialised them, kept
//! with the run's revision they were computed from (see `migrations/0009_report_models.sql`:
//! triggers move the revision on every write to what a report reads). The store keeps bytes and
//! revisions; what the bytes mean is the report crate's.

use sqlx::Row;

use crate::error::StoreError;
use crate::run_store::{Dialect, RunStore};

/// A run's current revision, and its stored model when one was computed from that revision by
/// the same model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportModelLookup {
    pub revision: i64,
    pub model: Option<Vec<u8>>,
}

impl RunStore {
    /// The run's revision and its model of `version` computed from that revision, if stored.
    /// `None` for a store without stored models (written by an older agentpod and opened
    /// read-only, so not migrated).
    pub async fn report_model(
        &self,
        run_id: &str,
        version: &str,
    ) -> Result<Option<ReportModelLookup>, StoreError> {
        if !self.has_report_models().await? {
            return Ok(None);
        }
        let row = sqlx::query(
            "WITH current AS (
                 SELECT coalesce((SELECT revision FROM run_revisions WHERE run_id = $1), 0)
                     AS revision
             )
             SELECT current.revision AS revision,
                    (SELECT model FROM report_models m
                     WHERE m.run_id = $1 AND m.version = $2 AND m.revision = current.revision)
                     AS model
             FROM current",
        )
        .bind(run_id)
        .bind(version)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(ReportModelLookup {
            revision: row.try_get("revision")?,
            model: row.try_get("model")?,
        }))
    }

    /// Stores the run's model of `version`, computed from `revision`, unless the run has moved
    /// past that revision since (then a model of it would be stale): returns whether it did.
    pub async fn store_report_model(
        &self,
        run_id: &str,
        revision: i64,
        version: &str,
        model: &[u8],
    ) -> Result<bool, StoreError> {
        let stored = sqlx::query(
            "INSERT INTO report_models (run_id, revision, version, model)
             SELECT $1, $2, $3, $4
             WHERE coalesce((SELECT revision FROM run_revisions WHERE run_id = $1), 0) = $2
             ON CONFLICT (run_id) DO UPDATE
                 SET revision = excluded.revision, version = excluded.version,
                     model = excluded.model",
        )
        .bind(run_id)
        .bind(revision)
        .bind(version)
        .bind(model)
        .execute(&self.pool)
        .await?;
        Ok(stored.rows_affected() > 0)
    }

    async fn has_report_models(&self) -> Result<bool, StoreError> {
        // A Postgres store is always migrated; a SQLite one read as it is may be older.
        if self.dialect == Dialect::Postgres {
            return Ok(true);
        }
        let (tables,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM sqlite_master
             WHERE type = 'table' AND name IN ('report_models', 'run_revisions')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(tables == 2)
    }
}
