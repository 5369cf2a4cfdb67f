//! How the agent process ended.

/// How the agent process ended; every failure to run it is one of these, never an error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentExit {
    /// The agent exited by itself with this code.
    Exited { code: i32 },
    /// The agent was ended by a signal it did not get from us (a crash, an outside kill).
    Signaled { signal: i32 },
    /// The agent ran past its timeout and its process group was terminated.
    TimedOut,
    /// The run was cancelled (e.g. Ctrl-C) and the agent's process group was terminated.
    Cancelled,
    /// The agent could not be started at all.
    FailedToStart { message: String },
}
