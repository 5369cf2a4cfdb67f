//! Everything recorded about one run of the agent on one issue.

use std::time::Duration;

use crate::{AgentExit, AgentOutput, CapturedOutput};

/// The outcome of one [`run_agent`](crate::run_agent) call.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentRun {
    pub exit: AgentExit,
    pub stdout: CapturedOutput,
    pub stderr: CapturedOutput,
    /// The agent's answer, read from the output path after it ended.
    pub output: AgentOutput,
    /// From start until the agent process ended (or was ended).
    pub duration: Duration,
}
