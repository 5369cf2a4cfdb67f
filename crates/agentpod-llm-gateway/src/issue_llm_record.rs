//! Everything recorded for one issue, returned when the issue finishes.

use serde::Serialize;

use crate::llm_call::{CallOutcome, LlmCall};
use crate::token_usage::TokenUsage;

/// Sums over an issue's calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlmTotals {
    /// Every recorded call, budget stops and failures included.
    pub calls: u32,
    /// Calls that ended with [`CallOutcome::Ok`].
    pub successful_calls: u32,
    pub usage: TokenUsage,
    pub total_tokens: u64,
    /// The sum over priced calls.
    pub cost_usd: f64,
    /// Calls with usage but no known price; when non-zero, `cost_usd` is a lower bound.
    pub unpriced_calls: u32,
}

/// An issue's calls, in the order they started, and their totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IssueLlmRecord {
    pub issue_id: String,
    pub calls: Vec<LlmCall>,
    pub budget_stops: u32,
    pub totals: LlmTotals,
}

impl IssueLlmRecord {
    pub(crate) fn new(
        issue_id: String,
        mut calls: Vec<LlmCall>,
        budget_stops: u32,
    ) -> IssueLlmRecord {
        calls.sort_by_key(|call| call.started_at);
        let mut totals = LlmTotals::default();
        for call in &calls {
            totals.calls += 1;
            if call.outcome == CallOutcome::Ok {
                totals.successful_calls += 1;
            }
            totals.usage.add(&call.usage);
            totals.total_tokens = totals.total_tokens.saturating_add(call.total_tokens);
            match call.cost_usd {
                Some(cost) => totals.cost_usd += cost,
                None if call.total_tokens > 0 => totals.unpriced_calls += 1,
                None => {}
            }
        }
        IssueLlmRecord {
            issue_id,
            calls,
            budget_stops,
            totals,
        }
    }
}
