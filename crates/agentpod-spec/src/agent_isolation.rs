//! `agent.isolation`: how a host-command agent is kept apart from agentpod and from other issues.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decoder::Decoder;
use crate::node::Node;

const MEANING_HELP: &str = "expected `sandbox` (the default: a user, process tree and file view of \
                            its own) or `none` (runs as agentpod's user; the verdict is not protected)";

/// How a host agent runs. An `agent.image` agent is always isolated by its container.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AgentIsolation {
    /// An unprivileged user of its own, its own PID namespace, and a file view with only its
    /// issue's files writable; the run is refused where the host cannot provide it.
    #[default]
    Sandbox,
    /// The agent runs as agentpod's own user and sees what that user sees: an explicit,
    /// reported downgrade. Every report of the run says its verdict is not protected.
    None,
}

impl AgentIsolation {
    const NAMES: [&'static str; 2] = ["sandbox", "none"];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AgentIsolation::Sandbox => "sandbox",
            AgentIsolation::None => "none",
        }
    }

    pub(crate) fn decode(decoder: &mut Decoder<'_>, node: &Node) -> Option<Self> {
        let name = decoder.choice(
            node,
            "agent.isolation",
            "isolation",
            &Self::NAMES,
            MEANING_HELP,
        )?;
        Some(match name {
            "none" => AgentIsolation::None,
            _ => AgentIsolation::Sandbox,
        })
    }
}

impl fmt::Display for AgentIsolation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}
