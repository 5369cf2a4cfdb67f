//! `RunBudget`: the run's cost budget (`budgets.max_run_cost_usd`), spent issue by issue. Each
//! issue's metered cost is added when the issue is recorded; once the total reaches the budget,
//! the pods start no further issue. Issues already running finish (and are paid for), so the
//! run can pass its budget by what the issues in flight spend. The issues left are recorded
//! nowhere but as missing outcomes: `--resume` (after raising the budget) runs them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub(crate) struct RunBudget {
    limit_usd: Option<f64>,
    spent_usd: Mutex<f64>,
    reached: AtomicBool,
}

impl RunBudget {
    /// A budget of `limit_usd` (none: unlimited) of which `spent_usd` is already spent (by the
    /// issues a resumed run recorded before).
    pub(crate) fn new(limit_usd: Option<f64>, spent_usd: f64) -> RunBudget {
        let budget = RunBudget {
            limit_usd,
            spent_usd: Mutex::new(0.0),
            reached: AtomicBool::new(false),
        };
        budget.spend(Some(spent_usd));
        budget
    }

    /// Adds one issue's metered cost (`None`: nothing priced).
    pub(crate) fn spend(&self, cost_usd: Option<f64>) {
        let Some(limit) = self.limit_usd else {
            return;
        };
        let mut spent = self
            .spent_usd
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *spent += cost_usd.filter(|cost| cost.is_finite()).unwrap_or(0.0);
        if *spent >= limit {
            self.reached.store(true, Ordering::SeqCst);
        }
    }

    /// Whether the run has spent its budget: no new issue may start.
    pub(crate) fn reached(&self) -> bool {
        self.reached.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_reached_once_the_issues_spent_it() {
        let budget = RunBudget::new(Some(1.0), 0.25);
        assert!(!budget.reached());
        budget.spend(None);
        budget.spend(Some(0.5));
        assert!(!budget.reached());
        budget.spend(Some(0.25));
        assert!(
            budget.reached(),
            "reaching the budget exactly stops the run"
        );
        assert!(
            RunBudget::new(Some(1.0), 1.5).reached(),
            "spent before a resume"
        );
        let unlimited = RunBudget::new(None, 1e12);
        unlimited.spend(Some(f64::MAX));
        assert!(!unlimited.reached());
    }
}
