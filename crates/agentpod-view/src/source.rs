//! What the pages read from a run store, as one trait, implemented here by [`StoreSource`] over
//! a [`RunStore`] (a SQLite file or a shared Postgres database: the store speaks both, so the
//! pages do not know which). Figures come from the report crate's `stored_run`, the one reader of a run for
//! its figures.

use agentpod_report::stored_run::{Steps, load_run, run_report};
use agentpod_report::{RunInput, RunReport};
use agentpod_store::{BoundaryEventRecord, OutcomeRecord, Page, RunRecord, RunStore, StepRecord};

use crate::error::ViewError;

/// How many runs the runs page lists at most.
pub const RUNS_LISTED: usize = 500;

/// One issue of a run: the issue as sampled, each trial's outcome, its boundary events, and how
/// many steps each trial recorded (the steps themselves are read a page at a time).
#[derive(Debug, Clone)]
pub struct IssueRecords {
    pub issue: serde_json::Value,
    pub outcomes: Vec<OutcomeRecord>,
    pub events: Vec<BoundaryEventRecord>,
    /// (trial, steps recorded), in trial order.
    pub step_counts: Vec<(u32, usize)>,
}

#[async_trait::async_trait]
pub trait RunSource: Send + Sync + 'static {
    /// Where the runs are, for the pages' headers.
    fn location(&self) -> String;
    /// The newest runs first.
    async fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, ViewError>;
    /// A run by id, unambiguous prefix, or `latest`.
    async fn run(&self, id_or_prefix: &str) -> Result<RunRecord, ViewError>;
    /// The run's report, without timelines (each issue has its own page).
    async fn report(&self, run_id: &str) -> Result<RunReport, ViewError>;
    /// The run as comparisons read it.
    async fn comparison_input(&self, run_id: &str) -> Result<RunInput, ViewError>;
    /// One issue of a run; `None` when the run has no such issue.
    async fn issue(&self, run_id: &str, issue_id: &str) -> Result<Option<IssueRecords>, ViewError>;
    /// One page of one trial's steps, in time order.
    async fn trial_steps(
        &self,
        run_id: &str,
        issue_id: &str,
        trial: u32,
        page: Page,
    ) -> Result<Vec<StepRecord>, ViewError>;
    /// How many proposals the run holds, and one page of them.
    async fn proposals(
        &self,
        run_id: &str,
        page: Page,
    ) -> Result<(usize, Vec<BoundaryEventRecord>), ViewError>;
}

/// A run store (SQLite or Postgres) as the pages' source.
#[derive(Debug, Clone)]
pub struct StoreSource {
    store: RunStore,
}

impl StoreSource {
    pub fn new(store: RunStore) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl RunSource for StoreSource {
    fn location(&self) -> String {
        self.store.location().to_string()
    }

    async fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, ViewError> {
        Ok(self.store.list_runs(limit).await?)
    }

    async fn run(&self, id_or_prefix: &str) -> Result<RunRecord, ViewError> {
        Ok(self.store.find_run(id_or_prefix).await?)
    }

    async fn report(&self, run_id: &str) -> Result<RunReport, ViewError> {
        Ok(run_report(&self.store, run_id, Steps::Skip).await?)
    }

    async fn comparison_input(&self, run_id: &str) -> Result<RunInput, ViewError> {
        Ok(load_run(&self.store, run_id, Steps::Skip).await?.input)
    }

    async fn issue(&self, run_id: &str, issue_id: &str) -> Result<Option<IssueRecords>, ViewError> {
        let Some(issue) = self.store.run_issue(run_id, issue_id).await? else {
            return Ok(None);
        };
        Ok(Some(IssueRecords {
            issue,
            outcomes: self.store.issue_outcomes(run_id, issue_id).await?,
            events: self.store.issue_boundary_events(run_id, issue_id).await?,
            step_counts: self.store.issue_step_counts(run_id, issue_id).await?,
        }))
    }

    async fn trial_steps(
        &self,
        run_id: &str,
        issue_id: &str,
        trial: u32,
        page: Page,
    ) -> Result<Vec<StepRecord>, ViewError> {
        Ok(self
            .store
            .trial_steps(run_id, issue_id, trial, page)
            .await?)
    }

    async fn proposals(
        &self,
        run_id: &str,
        page: Page,
    ) -> Result<(usize, Vec<BoundaryEventRecord>), ViewError> {
        Ok((
            self.store.proposal_count(run_id).await?,
            self.store.proposals(run_id, page).await?,
        ))
    }
}
