//! What to start for one issue: the command, where, with which contract variables and limits.

use std::path::PathBuf;
use std::time::Duration;

use crate::HostSandbox;

/// One start of the agent under test, for one issue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentInvocation {
    /// The argv; `command[0]` is already resolved to the program to run.
    pub command: Vec<String>,
    /// A per-issue scratch directory the runner creates; the agent's working directory and HOME.
    pub working_dir: PathBuf,
    /// The agent contract's variables; the only environment the agent gets besides PATH and HOME.
    pub env: Vec<(String, String)>,
    /// Wall-clock limit, after which the agent's process group is terminated.
    pub timeout: Duration,
    /// Cap, in bytes, on the kept stdout and on the kept stderr (each).
    pub output_limit: usize,
    /// Where the agent must write its JSON answer (also passed as `AGENTPOD_OUTPUT`).
    pub output_path: PathBuf,
    /// The sandbox the agent runs in; `None` runs it as agentpod's own user with agentpod's
    /// view of the host (`agent.isolation: none`, reported as an unprotected verdict).
    pub sandbox: Option<HostSandbox>,
}
