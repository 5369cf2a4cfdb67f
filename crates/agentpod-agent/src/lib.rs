//! Agent processes: start the agent under test once per issue, with the agent contract's
//! environment, a timeout and capped output, and turn everything that can happen to it into an
//! outcome ([`AgentRun`]) rather than an error.

mod agent_exit;
mod agent_invocation;
mod agent_output;
mod agent_run;
mod captured_output;
mod process_group;
mod run_agent;

pub use agent_exit::AgentExit;
pub use agent_invocation::AgentInvocation;
pub use agent_output::AgentOutput;
pub use agent_run::AgentRun;
pub use captured_output::CapturedOutput;
pub use run_agent::run_agent;
