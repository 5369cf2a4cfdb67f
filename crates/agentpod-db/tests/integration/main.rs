//! Integration tests for agentpod-db against real Postgres servers started from the host's
//! binaries (see `tests/support`). One binary, one module per concern.

#[path = "../support/mod.rs"]
mod support;

mod agent_role;
mod bad_fixtures;
mod boundary;
mod boundary_cost;
mod escape_suite;
mod issue_databases;
mod seeding;
