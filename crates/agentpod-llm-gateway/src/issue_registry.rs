//! Live issues by token: each issue's budget, running totals and recorded calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::RngExt;
use rand::distr::Alphanumeric;

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
}

/// Tokens → issues.
#[derive(Default)]
pub(crate) struct IssueRegistry {
    issues: Mutex<HashMap<String, Arc<IssueState>>>,
}

impl IssueRegistry {
    fn issues(&self) -> MutexGuard<'_, HashMap<String, Arc<IssueState>>> {
        self.issues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers an issue under a fresh random token and returns the token.
    pub(crate) fn register(&self, issue_id: &str, budget: LlmBudget) -> String {
        let token = loop {
            let random: String = rand::rng()
                .sample_iter(Alphanumeric)
                .map(char::from)
                .take(40)
                .collect();
            let token = format!("agentpod-{random}");
            if !self.issues().contains_key(&token) {
                break token;
            }
        };
        let state = IssueState {
            issue_id: issue_id.to_owned(),
            budget,
            ledger: Mutex::new(Ledger::default()),
        };
        self.issues().insert(token.clone(), Arc::new(state));
        token
    }

    pub(crate) fn lookup(&self, token: &str) -> Option<Arc<IssueState>> {
        self.issues().get(token).cloned()
    }

    /// Revokes `token`; calls still in flight finish and are kept in the returned record only if
    /// they ended before this point.
    pub(crate) fn finish(&self, token: &str) -> IssueLlmRecord {
        let Some(state) = self.issues().remove(token) else {
            return IssueLlmRecord::default();
        };
        let mut ledger = state.ledger();
        let calls = std::mem::take(&mut ledger.calls);
        IssueLlmRecord::new(state.issue_id.clone(), calls, ledger.budget_stops)
    }
}
