//! The `budgets` section: per-issue limits the gateways enforce (an issue that reaches one is
//! refused further calls and recorded as a budget stop), and the run's cost budget, which the
//! runner enforces between issues.

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, Position};

/// Per issue; `None` means no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BudgetsSpec {
    pub max_cost_usd: Option<f64>,
    pub max_llm_calls: Option<u32>,
    /// Input plus output tokens, over all of the model calls.
    pub max_tokens: Option<u64>,
    pub max_tool_calls: Option<u32>,
    /// For the whole run, not per issue: once the issues' metered cost reaches it, no further
    /// issue starts (issues already running finish), and the rest is left for `--resume`.
    pub max_run_cost_usd: Option<f64>,
}

impl BudgetsSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<BudgetsSpec> {
        let fields = decoder.mapping(node, owner, "`budgets`", keys::BUDGETS)?;
        let max_cost_usd = decoder.optional(&fields, "max_cost_usd", |decoder, node| {
            decode_cost(decoder, node, "budgets.max_cost_usd")
        });
        let max_run_cost_usd = decoder.optional(&fields, "max_run_cost_usd", |decoder, node| {
            decode_cost(decoder, node, "budgets.max_run_cost_usd")
        });
        let max_llm_calls = decoder.optional(&fields, "max_llm_calls", |decoder, node| {
            decode_count(decoder, node, "budgets.max_llm_calls", i64::from(u32::MAX))
                .and_then(|count| u32::try_from(count).ok())
        });
        let max_tokens = decoder.optional(&fields, "max_tokens", |decoder, node| {
            decode_count(decoder, node, "budgets.max_tokens", i64::MAX)
                .and_then(|count| u64::try_from(count).ok())
        });
        let max_tool_calls = decoder.optional(&fields, "max_tool_calls", |decoder, node| {
            decode_count(decoder, node, "budgets.max_tool_calls", i64::from(u32::MAX))
                .and_then(|count| u32::try_from(count).ok())
        });
        Some(BudgetsSpec {
            max_cost_usd: max_cost_usd?,
            max_llm_calls: max_llm_calls?,
            max_tokens: max_tokens?,
            max_tool_calls: max_tool_calls?,
            max_run_cost_usd: max_run_cost_usd?,
        })
    }
}

fn decode_count(decoder: &mut Decoder<'_>, node: &Node, name: &str, maximum: i64) -> Option<i64> {
    let count = decoder.integer(node, name)?;
    if count < 1 || count > maximum {
        decoder.report_with_help(
            node.position,
            format!("`{name}` must be between 1 and {maximum}, found {count}"),
            Some("leave the budget out for no limit"),
        );
        return None;
    }
    Some(count)
}

fn decode_cost(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<f64> {
    decoder.positive_number(
        node,
        name,
        "write dollars as a number, e.g. `0.50`",
        Some("leave the budget out for no limit"),
    )
}
