//! Per-issue budgets for model calls.

use serde::{Deserialize, Serialize};

/// Limits for one issue; `None` means unlimited. A limit that has been reached refuses every
/// further call (a call already admitted runs to its end, so spending can pass a limit once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmBudget {
    pub max_cost_usd: Option<f64>,
    pub max_calls: Option<u32>,
    pub max_tokens: Option<u64>,
}

/// Which budget refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    MaxCostUsd,
    MaxCalls,
    MaxTokens,
}

impl BudgetKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::MaxCostUsd => "max_cost_usd",
            Self::MaxCalls => "max_calls",
            Self::MaxTokens => "max_tokens",
        }
    }
}

impl LlmBudget {
    /// The first budget already used up by `calls`, `cost_usd` and `tokens`, if any.
    pub(crate) fn exhausted(&self, calls: u32, cost_usd: f64, tokens: u64) -> Option<BudgetKind> {
        if self.max_calls.is_some_and(|limit| calls >= limit) {
            return Some(BudgetKind::MaxCalls);
        }
        if self.max_cost_usd.is_some_and(|limit| cost_usd >= limit) {
            return Some(BudgetKind::MaxCostUsd);
        }
        if self.max_tokens.is_some_and(|limit| tokens >= limit) {
            return Some(BudgetKind::MaxTokens);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_refuses_once_reached() {
        let budget = LlmBudget {
            max_calls: Some(2),
            max_cost_usd: Some(0.5),
            max_tokens: Some(100),
        };
        assert_eq!(budget.exhausted(1, 0.1, 10), None);
        assert_eq!(budget.exhausted(2, 0.1, 10), Some(BudgetKind::MaxCalls));
        assert_eq!(budget.exhausted(0, 0.5, 10), Some(BudgetKind::MaxCostUsd));
        assert_eq!(budget.exhausted(0, 0.0, 100), Some(BudgetKind::MaxTokens));
        assert_eq!(
            LlmBudget::default().exhausted(u32::MAX, 1e9, u64::MAX),
            None
        );
    }
}
