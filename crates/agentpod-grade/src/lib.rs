//! Graders: decide per issue whether the agent's answer passes, and why.
//!
//! The first grader compares the agent's output fields with the expected fields. Later
//! graders (SQL assertions, database state, boundary, budgets) add checks to the same `Grade`.

mod expected_fields;
mod grade;

pub use expected_fields::grade_expected_fields;
pub use grade::{Check, Grade};
