//! Exit codes, documented in the README; scripts and CI rely on them.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what it was asked. For `run`: the run finished (failed issues included).
    Success = 0,
    /// Something unexpected inside agentpod.
    Internal = 1,
    /// The input is wrong: command line, pod spec, issues file, fixtures.
    InvalidInput = 2,
    /// The environment is not ready: no Docker and no local Postgres, image missing, pods fail to start, store unusable.
    Setup = 3,
    /// The CI gate failed: a threshold of the spec or the command line was not met.
    GateFailed = 4,
    /// The run's cost budget (`budgets.max_run_cost_usd`) was reached and issues were left
    /// unstarted; results so far are kept, and `--resume` runs the rest.
    BudgetReached = 5,
    /// The run was interrupted (Ctrl-C, SIGTERM); results so far are kept.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}
