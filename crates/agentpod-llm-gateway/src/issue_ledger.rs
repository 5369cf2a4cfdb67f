//! One live issue at the LLM gateway: its budget, running totals and recorded calls. The
//! gateway keeps these by token in the kit's `IssueRegistry`.

use std::sync::{Mutex, MutexGuard};

use crate::issue_llm_record::IssueLlmRecord;
use crate::llm_budget::{BudgetKind, LlmBudget};
use crate::llm_call::LlmCall;

/// One registered issue.
pub(crate) struct IssueState {
    pub(crate) issue_id: String,
    budget: LlmBudget,
    ledger: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    /// Calls admitted past the budget check, counted when admitted so that concurrent calls
    /// cannot all slip under `max_calls`.
    admitted_calls: u32,
    cost_usd: f64,
    tokens: u64,
    budget_stops: u32,
    calls: Vec<LlmCall>,
}

impl IssueState {
    pub(crate) fn new(issue_id: &str, budget: LlmBudget) -> IssueState {
        IssueState {
            issue_id: issue_id.to_owned(),
            budget,
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves plain counters behind; they stay usable.
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits one call, or names the budget that refuses it.
    pub(crate) fn admit(&self) -> Result<(), BudgetKind> {
        let mut ledger = self.ledger();
        if let Some(kind) =
            self.budget
                .exhausted(ledger.admitted_calls, ledger.cost_usd, ledger.tokens)
        {
            ledger.budget_stops += 1;
            return Err(kind);
        }
        ledger.admitted_calls += 1;
        Ok(())
    }

    pub(crate) fn record(&self, call: LlmCall) {
        let mut ledger = self.ledger();
        ledger.cost_usd += call.cost_usd.unwrap_or(0.0);
        ledger.tokens = ledger.tokens.saturating_add(call.total_tokens);
        ledger.calls.push(call);
    }

    /// Takes the recorded calls out, once the token is revoked; calls still in flight finish
    /// and are kept only if they ended before this point.
    pub(crate) fn take_record(&self) -> IssueLlmRecord {
        let mut ledger = self.ledger();
        let calls = std::mem::take(&mut ledger.calls);
        IssueLlmRecord::new(self.issue_id.clone(), calls, ledger.budget_stops)
    }
}
