//! Pod databases: fixtures, the seeded template, per-issue clones, the agent role.
//!
//! [`PodDatabase::seed`] applies the pod spec's fixtures once into a template database; every
//! issue then gets its own copy with [`PodDatabase::create_issue_database`], so issues never see
//! each other's writes.

mod agent_role;
mod copy_load;
mod csv_fixture;
mod database_name;
mod db_error;
mod fixture_error;
mod issue_database;
mod json_lines_fixture;
mod pod_database;
mod postgres_error;
mod sql_fixture;
mod sql_script;

pub use db_error::DbError;
pub use fixture_error::FixtureError;
pub use issue_database::IssueDatabase;
pub use pod_database::PodDatabase;
