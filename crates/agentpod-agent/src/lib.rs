//! Agent processes: start the agent under test once per issue, with the agent contract's
//! environment, a timeout and capped output, and turn everything that can happen to it into an
//! outcome ([`AgentRun`]) rather than an error. The agent is a host command ([`run_agent`]),
//! sandboxed by default ([`HostSandbox`]), or a locked-down container on its pod's network
//! ([`run_agent_container`]). The runner does not call these itself: it hands an
//! [`AgentLaunch`] to its pod (`agentpod_runtime::Pod::launch_agent`), which knows which of them
//! it can run and owns the Docker client.

mod agent_cgroup;
mod agent_container;
mod agent_exit;
mod agent_invocation;
mod agent_launch;
mod agent_output;
mod agent_run;
mod captured_output;
mod container_invocation;
mod host_sandbox;
mod prestarted_agent;
mod process_group;
mod run_agent;
mod run_agent_container;

pub use agent_cgroup::collect_agent_cgroups;
pub use agent_exit::AgentExit;
pub use agent_invocation::AgentInvocation;
pub use agent_launch::AgentLaunch;
pub use agent_output::AgentOutput;
pub use agent_run::AgentRun;
pub use captured_output::CapturedOutput;
pub use container_invocation::{
    CONTAINER_ISSUE_PATH, CONTAINER_OUTPUT_DIRECTORY, ContainerInvocation, ContainerPlacement,
    OUTPUT_FILE_NAME,
};
pub use host_sandbox::{HostSandbox, SandboxUnavailable, SandboxUser, sandbox_support};
pub use prestarted_agent::{PrestartError, PrestartedAgent};
pub use run_agent::run_agent;
pub use run_agent_container::run_agent_container;
