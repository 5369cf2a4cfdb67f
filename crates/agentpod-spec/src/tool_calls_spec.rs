//! `grading.tool_calls`: how the calls an issue expects (`expected_tool_calls`) are held against
//! the calls the agent made: in order or as a set, extra calls allowed or not.

use serde::{Deserialize, Serialize};

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, Position};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallsSpec {
    pub order: ToolCallOrder,
    pub extra_calls: ExtraToolCalls,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallOrder {
    /// The expected calls are made in the order listed (other calls may come between them).
    #[default]
    InOrder,
    /// The expected calls are made, in any order.
    AnyOrder,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraToolCalls {
    /// Calls beyond the expected ones do not matter.
    #[default]
    Allow,
    /// Every call the agent made must be one of the expected ones.
    Forbid,
}

impl ToolCallsSpec {
    pub(crate) fn decode(decoder: &mut Decoder<'_>, node: &Node) -> Option<ToolCallsSpec> {
        let owner: Position = node.position;
        let fields = decoder.mapping(node, owner, "`grading.tool_calls`", keys::TOOL_CALLS)?;
        let order = decoder.optional(&fields, "order", |decoder, node| {
            let name = decoder.choice(
                node,
                "grading.tool_calls.order",
                "call order",
                &["in_order", "any_order"],
                "expected `in_order` (the expected calls in the order listed) or `any_order`",
            )?;
            Some(match name {
                "any_order" => ToolCallOrder::AnyOrder,
                _ => ToolCallOrder::InOrder,
            })
        });
        let extra_calls = decoder.optional(&fields, "extra_calls", |decoder, node| {
            let name = decoder.choice(
                node,
                "grading.tool_calls.extra_calls",
                "rule for extra calls",
                &["allow", "forbid"],
                "expected `allow` (calls beyond the expected ones do not matter) or `forbid`",
            )?;
            Some(match name {
                "forbid" => ExtraToolCalls::Forbid,
                _ => ExtraToolCalls::Allow,
            })
        });
        Some(ToolCallsSpec {
            order: order?.unwrap_or_default(),
            extra_calls: extra_calls?.unwrap_or_default(),
        })
    }
}
