//! Run store: runs, the issues they sampled and each issue's outcome, in SQLite (sqlx, migrations).
//!
//! Outcomes are written one by one as issues end, so a run that dies half-way keeps what it did.
//! A run may try each issue several times (`--trials K`): outcomes, steps and boundary events
//! carry their trial, from 1.

mod boundary_event;
mod error;
mod records;
mod run_bundle;
mod run_store;
mod step;
mod stored_time;

pub use boundary_event::{BoundaryEventKind, BoundaryEventRecord};
pub use error::StoreError;
pub use records::{NewRun, OutcomeRecord, OutcomeStatus, PendingTrial, RunRecord, RunStatus};
pub use run_bundle::{RUN_BUNDLE_FORMAT, RunBundle};
pub use run_store::{DEFAULT_STORE_PATH, RunStore};
pub use step::{IssueUsage, StepKind, StepRecord};
