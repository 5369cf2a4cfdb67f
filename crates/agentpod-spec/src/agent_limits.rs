//! `agent.limits`: the memory, CPU and process limits an agent image runs under.

use serde::Serialize;

use crate::byte_size::{BYTE_SIZE_HELP, ByteSizeError, parse_byte_size};
use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, Position};

const DEFAULT_MEMORY_BYTES: u64 = 512 << 20;
const DEFAULT_CPUS: f64 = 1.0;
const DEFAULT_PIDS: i64 = 256;

/// Docker refuses a smaller memory limit when it creates the container; saying so here points at
/// the spec instead.
const MINIMUM_MEMORY_BYTES: u64 = 6 << 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentLimits {
    pub memory_bytes: u64,
    /// How many CPUs' worth of time, e.g. `0.5`.
    pub cpus: f64,
    /// How many processes and threads the agent may run at once.
    pub pids: i64,
}

impl Default for AgentLimits {
    fn default() -> Self {
        AgentLimits {
            memory_bytes: DEFAULT_MEMORY_BYTES,
            cpus: DEFAULT_CPUS,
            pids: DEFAULT_PIDS,
        }
    }
}

impl AgentLimits {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<AgentLimits> {
        let fields = decoder.mapping(node, owner, "`agent.limits`", keys::AGENT_LIMITS)?;
        let memory_bytes = decoder.optional(&fields, "memory", decode_memory);
        let cpus = decoder.optional(&fields, "cpus", decode_cpus);
        let pids = decoder.optional(&fields, "pids", |decoder, node| {
            decoder.integer_in_range(node, "agent.limits.pids", 1, i64::MAX)
        });
        Some(AgentLimits {
            memory_bytes: memory_bytes?.unwrap_or(DEFAULT_MEMORY_BYTES),
            cpus: cpus?.unwrap_or(DEFAULT_CPUS),
            pids: pids?.unwrap_or(DEFAULT_PIDS),
        })
    }
}

fn decode_memory(decoder: &mut Decoder<'_>, node: &Node) -> Option<u64> {
    let text = decoder.string(node, "agent.limits.memory")?;
    let bytes = match parse_byte_size(&text) {
        Ok(bytes) => u64::try_from(bytes).ok(),
        Err(error) => {
            let help = match &error {
                ByteSizeError::UnknownUnit {
                    suggestion: Some(unit),
                    ..
                } => format!("did you mean `{unit}`? sizes use binary units"),
                _ => BYTE_SIZE_HELP.to_owned(),
            };
            decoder.report_with_help(
                node.position,
                format!("invalid size `{text}` for `agent.limits.memory`: {error}"),
                Some(help),
            );
            return None;
        }
    }?;
    if bytes < MINIMUM_MEMORY_BYTES {
        decoder.report_with_help(
            node.position,
            format!("`agent.limits.memory` must be at least 6MiB, found `{text}`"),
            Some("Docker does not start a container with less memory"),
        );
        return None;
    }
    Some(bytes)
}

fn decode_cpus(decoder: &mut Decoder<'_>, node: &Node) -> Option<f64> {
    decoder.positive_number(
        node,
        "agent.limits.cpus",
        "write how many CPUs' worth of time the agent gets, e.g. `0.5` or `2`",
        None,
    )
}
