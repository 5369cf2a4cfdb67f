//! `AgentLaunch`: what the runner asks a pod to start for one issue — a host command or a
//! container image. The pod decides how: a host command as a sandboxed process beside the pod,
//! an image as a locked-down container on the pod's own network.

use crate::{AgentInvocation, ContainerInvocation};

/// One issue's agent, as the runner hands it to its pod.
#[derive(Debug, Clone, serde::Serialize)]
pub enum AgentLaunch {
    /// A program on the host (`agent.command`).
    Host(AgentInvocation),
    /// A container image (`agent.image`); only pods with a network of their own can run it.
    Image(ContainerInvocation),
}
