//! Reads for pages of one run that show a part of it (`agentpod view`): one issue's trials,
//! steps and boundary events, and one page of a run's proposals. Each reads by an index (the
//! primary keys lead with run and issue; proposals by `boundary_events_by_kind`), so a page of a
//! run of 100,000 steps reads only its own rows.

use sqlx::Row;

use crate::boundary_event::BoundaryEventRecord;
use crate::error::StoreError;
use crate::records::OutcomeRecord;
use crate::run_store::{RunStore, event_from_row, outcome_from_row, step_from_row};
use crate::step::StepRecord;

/// A slice of rows: skip `offset`, take at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl RunStore {
    /// The issue as the run stored it in its sample; `None` when the run did not sample it.
    pub async fn run_issue(
        &self,
        run_id: &str,
        issue_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let row =
            sqlx::query("SELECT issue_json FROM run_issues WHERE run_id = $1 AND issue_id = $2")
                .bind(run_id)
                .bind(issue_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            let text: String = row.try_get("issue_json")?;
            serde_json::from_str(&text)
                .map_err(|error| StoreError::Corrupt(format!("issue json: {error}")))
        })
        .transpose()
    }

    /// The issue's outcomes, one per trial, in trial order, whole (with what the agent wrote).
    pub async fn issue_outcomes(
        &self,
        run_id: &str,
        issue_id: &str,
    ) -> Result<Vec<OutcomeRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM outcomes WHERE run_id = $1 AND issue_id = $2 ORDER BY trial",
        )
        .bind(run_id)
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outcome_from_row).collect()
    }

    /// How many steps each trial of the issue recorded: (trial, steps), in trial order.
    pub async fn issue_step_counts(
        &self,
        run_id: &str,
        issue_id: &str,
    ) -> Result<Vec<(u32, usize)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT trial, count(*) FROM steps WHERE run_id = $1 AND issue_id = $2
             GROUP BY trial ORDER BY trial",
        )
        .bind(run_id)
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(trial, count)| (trial as u32, count as usize))
            .collect())
    }

    /// One page of one trial's steps, by start time (steps without one last, by kind and order).
    pub async fn trial_steps(
        &self,
        run_id: &str,
        issue_id: &str,
        trial: u32,
        page: Page,
    ) -> Result<Vec<StepRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT issue_id, trial, kind, started_at, latency_ms, detail_json FROM steps
             WHERE run_id = $1 AND issue_id = $2 AND trial = $3
             ORDER BY started_at IS NULL, started_at, kind, position LIMIT $4 OFFSET $5",
        )
        .bind(run_id)
        .bind(issue_id)
        .bind(i64::from(trial))
        .bind(page.limit as i64)
        .bind(page.offset as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(step_from_row).collect()
    }

    /// The issue's boundary events (changes, proposals, violations), by trial, kind and order.
    pub async fn issue_boundary_events(
        &self,
        run_id: &str,
        issue_id: &str,
    ) -> Result<Vec<BoundaryEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT issue_id, trial, kind, table_name, detail_json FROM boundary_events
             WHERE run_id = $1 AND issue_id = $2 ORDER BY trial, kind, position",
        )
        .bind(run_id)
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// How many proposals the run's agents made.
    pub async fn proposal_count(&self, run_id: &str) -> Result<usize, StoreError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM boundary_events WHERE run_id = $1 AND kind = 'proposal'",
        )
        .bind(run_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count as usize)
    }

    /// One page of the run's proposals, by issue, trial and order.
    pub async fn proposals(
        &self,
        run_id: &str,
        page: Page,
    ) -> Result<Vec<BoundaryEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT issue_id, trial, kind, table_name, detail_json FROM boundary_events
             WHERE run_id = $1 AND kind = 'proposal'
             ORDER BY issue_id, trial, position LIMIT $2 OFFSET $3",
        )
        .bind(run_id)
        .bind(page.limit as i64)
        .bind(page.offset as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
