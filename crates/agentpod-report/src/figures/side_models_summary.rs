//! `SideModelsSummary`: what the models agentpod asked beside the agent's did over a run — the
//! LLM judge (how many trials it judged and passed, how often its own judgements of one answer
//! split, how often it agreed with the issues' expected fields, its calls and cost) and the
//! simulated customers' model (calls and cost). None of it is the agent's: every agent figure
//! leaves it out.

use agentpod_store::{OutcomeRecord, SideModelUsage};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideModelsSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<SideModelTotals>,
}

impl SideModelsSummary {
    pub fn any(&self) -> bool {
        self.judge.is_some() || self.customer.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.any()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JudgeSummary {
    /// Trials the judge gave a verdict on.
    pub judged_trials: u32,
    pub passed_trials: u32,
    /// The most judgements of one trial (`judge.repeats`).
    pub repeats: u32,
    /// Trials whose judgements did not all agree: the judge flipped on the same answer.
    pub split_trials: u32,
    /// Trials whose issue has expected fields, and of them those where the judge's verdict is
    /// the fields' verdict.
    pub compared_with_expected: u32,
    pub agreed_with_expected: u32,
    pub totals: SideModelTotals,
}

/// One side model's calls over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideModelTotals {
    /// The model its requests asked for (the first trial's, when they differ).
    pub model: String,
    pub trials: u32,
    pub calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `None` when no call could be priced.
    pub cost_usd: Option<f64>,
}

impl SideModelTotals {
    fn add(&mut self, usage: &SideModelUsage) {
        if self.model.is_empty() {
            self.model = usage.model.clone();
        }
        self.trials += 1;
        self.calls += usage.calls;
        self.input_tokens = self.input_tokens.saturating_add(usage.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(usage.output_tokens);
        if let Some(cost) = usage.cost_usd {
            *self.cost_usd.get_or_insert(0.0) += cost;
        }
    }
}

pub(crate) fn summarize_side_models(outcomes: &[OutcomeRecord]) -> SideModelsSummary {
    let mut judge: Option<JudgeSummary> = None;
    let mut customer: Option<SideModelTotals> = None;
    for outcome in outcomes {
        let side = &outcome.usage.side_models;
        if let Some(usage) = &side.judge {
            judge.get_or_insert_with(Default::default).totals.add(usage);
        }
        if let Some(verdict) = &side.judged {
            let judge = judge.get_or_insert_with(Default::default);
            judge.judged_trials += 1;
            judge.passed_trials += u32::from(verdict.passed);
            judge.split_trials += u32::from(verdict.split);
            judge.repeats = judge.repeats.max(verdict.judgements);
            if let Some(expected) = verdict.expected_fields_passed {
                judge.compared_with_expected += 1;
                judge.agreed_with_expected += u32::from(expected == verdict.passed);
            }
        }
        if let Some(usage) = &side.customer {
            customer.get_or_insert_with(Default::default).add(usage);
        }
    }
    SideModelsSummary { judge, customer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentpod_store::JudgeVerdict;

    fn outcome(verdict: JudgeVerdict, cost: Option<f64>) -> OutcomeRecord {
        let mut outcome: OutcomeRecord = serde_json::from_value(serde_json::json!({
            "run_id": "r", "issue_id": "i", "pod_index": 1, "status": "passed", "reason": "",
            "exit": null, "started_at": "2026-12-01T00:00:00Z", "duration_ms": 1,
            "output": null, "grade": null, "stdout": "", "stdout_bytes": 0,
            "stdout_truncated": false, "stderr": "", "stderr_bytes": 0, "stderr_truncated": false,
            "usage": {"llm_calls": 0, "tool_calls": 0, "input_tokens": 0, "output_tokens": 0,
                      "cost_usd": null, "unpriced_calls": 0, "budget_stops": 0}
        }))
        .expect("outcome");
        outcome.usage.side_models.judged = Some(verdict);
        outcome.usage.side_models.judge = Some(SideModelUsage {
            model: "judge-model".into(),
            calls: verdict.judgements,
            input_tokens: 100,
            output_tokens: 10,
            cost_usd: cost,
        });
        outcome
    }

    #[test]
    fn the_judge_is_summed_apart_with_its_splits_and_its_agreement_with_expected_fields() {
        let verdict = |passed, split, expected| JudgeVerdict {
            passed,
            split,
            judgements: 3,
            expected_fields_passed: expected,
        };
        let summary = summarize_side_models(&[
            outcome(verdict(true, false, Some(true)), Some(0.01)),
            outcome(verdict(true, true, Some(false)), Some(0.02)),
            outcome(verdict(false, false, None), None),
        ]);
        let judge = summary.judge.expect("judged");
        assert_eq!(
            (
                judge.judged_trials,
                judge.passed_trials,
                judge.split_trials,
                judge.repeats
            ),
            (3, 2, 1, 3)
        );
        assert_eq!(
            (judge.compared_with_expected, judge.agreed_with_expected),
            (2, 1)
        );
        assert_eq!(judge.totals.calls, 9);
        assert_eq!(judge.totals.model, "judge-model");
        assert!((judge.totals.cost_usd.unwrap() - 0.03).abs() < 1e-12);
        assert!(summary.customer.is_none());
    }
}
