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

impl AgentRun {
    /// An agent that never started: why, and nothing else.
    #[must_use]
    pub fn not_started(message: impl Into<String>) -> AgentRun {
        AgentRun {
            exit: AgentExit::FailedToStart {
                message: message.into(),
            },
            stdout: CapturedOutput::default(),
            stderr: CapturedOutput::default(),
            output: AgentOutput::Missing,
            duration: Duration::ZERO,
        }
    }
}
