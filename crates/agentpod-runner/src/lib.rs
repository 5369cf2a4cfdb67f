//! Runner: turns a pod spec and a sample of issues into a run — N pods in parallel, each issue
//! in its own cloned database with the agent started once — and emits events as it goes.
//!
//! The runner knows nothing of terminals: the CLI listens through [`RunReporter`].

mod agent_slot;
mod boundary_records;
mod crash_line;
mod error;
mod interrupt;
mod issue_execution;
mod issue_grading;
mod issue_judge;
mod issue_lease;
mod issue_source;
mod issue_trial;
mod pod_gateways;
mod pod_worker;
mod preflight;
mod run;
mod run_budget;
mod run_event;
mod run_id;
mod run_plan;
mod run_shard;
mod seeded_template;
mod side_models;
mod simulated_customer;
mod step_details;

pub use error::{PlanError, RunError};
pub use interrupt::Interrupt;
pub use issue_source::{issue_mapping, load_issues};
pub use issue_trial::IssueTrial;
pub use preflight::{Preflight, preflight};
pub use run::{RunResult, close_run, execute};
pub use run_event::{RunEvent, RunReporter};
pub use run_id::new_run_id;
pub use run_plan::{RunOptions, RunPlan, SampleSize, SandboxView};
pub use run_shard::{ShardRequest, this_host};
