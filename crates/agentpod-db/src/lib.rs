//! Pod databases: fixtures, the seeded template, per-issue clones, the agent role.
//!
//! [`PodDatabase::seed`] applies the pod spec's fixtures once into a template database; every
//! issue then gets its own copy with [`PodDatabase::create_issue_database`], so issues never see
//! each other's writes. [`PodDatabase::apply_boundary`] turns the spec's AI-writable boundary
//! into the agent role's grants and audit triggers in the template, and
//! [`PodDatabase::collect_boundary_events`] reads back what the boundary saw in one issue.
//! [`seed_key`] names a seeded template for a runtime's seed cache, and [`PodDatabase::attach`]
//! takes over a template restored from it instead of seeding again.
//! [`snapshot_state`] captures a database's rows canonically and [`diff_states`] compares two
//! captures, for the gold-actions grader; [`snapshot_differences`] snapshots only the tables whose
//! server-side fingerprints differ. [`FixtureTables`] reads the tables the fixtures will
//! create from the files alone, for checks before any pod starts.

mod agent_role;
mod audit_schema;
mod boundary_error;
mod boundary_events;
mod boundary_grants;
mod catalog;
mod copy_load;
mod csv_fixture;
mod database_name;
mod db_error;
mod effective_boundary;
mod fixture_error;
mod fixture_tables;
#[doc(hidden)]
pub mod fuzzing;
mod issue_database;
mod json_lines_fixture;
mod json_path_diff;
mod pod_database;
mod postgres_error;
mod seed_key;
mod sql_fixture;
mod sql_script;
mod state_diff;
mod state_fingerprint;
mod state_snapshot;
mod violation_log;

pub use boundary_error::BoundaryError;
pub use boundary_events::{BoundaryEvents, Proposal, RowChange, Violation};
pub use db_error::DbError;
pub use effective_boundary::{EffectiveBoundary, EffectiveTable};
pub use fixture_error::FixtureError;
pub use fixture_tables::FixtureTables;
pub use issue_database::IssueDatabase;
pub use pod_database::{PodDatabase, Spares};
pub use seed_key::seed_key;
pub use state_diff::{ChangedRow, StateDiff, TableDiff, diff_states};
pub use state_fingerprint::snapshot_differences;
pub use state_snapshot::{RowValues, SnapshotRow, StateSnapshot, TableSnapshot, snapshot_state};
