//! Integration tests for the graders that read a database, against a real Postgres server
//! started from the host's binaries (see `tests/support`). One binary, one module per grader.

#[path = "../support/mod.rs"]
mod support;

mod gold_state;
mod sql_assertions;
