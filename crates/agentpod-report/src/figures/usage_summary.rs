//! `UsageSummary`: what a run's issues cost and did, as the gateways counted it — cost, tokens,
//! model calls and tool calls per issue (distributions, not averages), the outliers, and what
//! the provider's throttling cost (`ThrottlingSummary`).

use std::borrow::Cow;

use agentpod_store::{OutcomeRecord, OutcomeStatus};
use serde::{Deserialize, Serialize};

use crate::figures::distribution::Distribution;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    /// USD per issue, over issues with at least one priced call.
    pub cost_usd_per_issue: Option<Distribution>,
    pub total_cost_usd: Option<f64>,
    /// Calls to models with no price: their cost is unknown, and the totals leave them out.
    pub unpriced_calls: u32,
    pub llm_calls_per_issue: Option<Distribution>,
    pub tool_calls_per_issue: Option<Distribution>,
    /// Input plus output tokens per issue.
    pub tokens_per_issue: Option<Distribution>,
    pub budget_stops: u32,
    /// Issues far above the rest (beyond Tukey's fence, Q3 + 1.5 × IQR) in cost, tool calls or time.
    pub outliers: Vec<Outlier>,
    pub throttling: ThrottlingSummary,
    /// The judge's and the simulated customers' models: never part of the figures above.
    #[serde(
        default,
        skip_serializing_if = "crate::figures::side_models_summary::SideModelsSummary::is_empty"
    )]
    pub side_models: crate::figures::side_models_summary::SideModelsSummary,
}

/// The provider's throttling over the run's finished issues: the LLM gateway's retries after
/// 429 and 5xx answers and the time model calls waited (for the run's upstream limits, or
/// backing off between retries). That time is left out of every time figure, which measures
/// the agent (see `OutcomeRecord::agent_ms`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThrottlingSummary {
    pub model_retries: u32,
    pub throttled_seconds: f64,
    /// Issue trials with any retry or wait.
    pub issues_throttled: usize,
}

impl ThrottlingSummary {
    pub fn any(&self) -> bool {
        self.model_retries > 0 || self.throttled_seconds > 0.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outlier {
    pub issue_id: String,
    /// `cost_usd`, `tool_calls` or `seconds`.
    pub measure: Cow<'static, str>,
    pub value: f64,
    pub fence: f64,
}

pub(crate) fn summarize_usage(outcomes: &[OutcomeRecord]) -> UsageSummary {
    let finished: Vec<&OutcomeRecord> = outcomes
        .iter()
        .filter(|outcome| {
            matches!(
                outcome.status,
                OutcomeStatus::Passed | OutcomeStatus::Failed | OutcomeStatus::Errored
            )
        })
        .collect();
    let metered = finished
        .iter()
        .any(|outcome| outcome.usage.llm_calls + outcome.usage.tool_calls > 0);
    if !metered {
        return UsageSummary::default();
    }
    let costs: Vec<(&str, f64)> = finished
        .iter()
        .filter_map(|outcome| {
            outcome
                .usage
                .cost_usd
                .map(|cost| (outcome.issue_id.as_str(), cost))
        })
        .collect();
    let measure = |value: fn(&OutcomeRecord) -> f64| -> Vec<(&str, f64)> {
        finished
            .iter()
            .map(|outcome| (outcome.issue_id.as_str(), value(outcome)))
            .collect()
    };
    let tool_calls = measure(|outcome| f64::from(outcome.usage.tool_calls));
    let seconds = measure(|outcome| outcome.agent_ms() as f64 / 1000.0);
    let mut outliers = Vec::new();
    for (name, values) in [
        ("cost_usd", &costs),
        ("tool_calls", &tool_calls),
        ("seconds", &seconds),
    ] {
        outliers.extend(beyond_fence(name, values));
    }
    let values = |pairs: &[(&str, f64)]| pairs.iter().map(|(_, value)| *value).collect::<Vec<_>>();
    UsageSummary {
        cost_usd_per_issue: Distribution::of(&values(&costs)),
        total_cost_usd: (!costs.is_empty()).then(|| costs.iter().map(|(_, cost)| cost).sum()),
        unpriced_calls: finished
            .iter()
            .map(|outcome| outcome.usage.unpriced_calls)
            .sum(),
        llm_calls_per_issue: Distribution::of(&values(&measure(|outcome| {
            f64::from(outcome.usage.llm_calls)
        }))),
        tool_calls_per_issue: Distribution::of(&values(&tool_calls)),
        tokens_per_issue: Distribution::of(&values(&measure(|outcome| {
            // Saturating: the counts are the upstream's, and an upstream can say anything.
            outcome
                .usage
                .input_tokens
                .saturating_add(outcome.usage.output_tokens) as f64
        }))),
        budget_stops: finished
            .iter()
            .map(|outcome| outcome.usage.budget_stops)
            .sum(),
        outliers,
        throttling: ThrottlingSummary {
            model_retries: finished
                .iter()
                .map(|outcome| outcome.usage.model_retries)
                .sum(),
            throttled_seconds: finished
                .iter()
                .map(|outcome| outcome.usage.throttled_ms / 1000.0)
                .sum(),
            issues_throttled: finished
                .iter()
                .filter(|outcome| {
                    outcome.usage.model_retries > 0 || outcome.usage.throttled_ms > 0.0
                })
                .count(),
        },
        side_models: crate::figures::side_models_summary::summarize_side_models(outcomes),
    }
}

/// Issues beyond Q3 + 1.5 × IQR (nearest-rank quartiles); nothing for fewer than 4 issues or a
/// measure with no spread.
fn beyond_fence(measure: &'static str, values: &[(&str, f64)]) -> Vec<Outlier> {
    if values.len() < 4 {
        return Vec::new();
    }
    let mut sorted: Vec<f64> = values.iter().map(|(_, value)| *value).collect();
    sorted.sort_by(f64::total_cmp);
    let quartile =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let (first, third) = (quartile(0.25), quartile(0.75));
    let fence = third + 1.5 * (third - first);
    if fence <= 0.0 {
        return Vec::new();
    }
    let mut outliers: Vec<Outlier> = values
        .iter()
        .filter(|(_, value)| *value > fence)
        .map(|(issue_id, value)| Outlier {
            issue_id: issue_id.to_string(),
            measure: measure.into(),
            value: *value,
            fence,
        })
        .collect();
    outliers.sort_by(|a, b| b.value.total_cmp(&a.value));
    outliers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_beyond_the_fence_are_outliers() {
        let values: Vec<(&str, f64)> = [
            ("a", 1.0),
            ("b", 2.0),
            ("c", 2.0),
            ("d", 3.0),
            ("e", 3.0),
            ("f", 4.0),
            ("g", 30.0),
        ]
        .to_vec();
        // Q1 = 2, Q3 = 4 (nearest rank over 7), fence = 4 + 1.5 × 2 = 7.
        let outliers = beyond_fence("tool_calls", &values);
        assert_eq!(outliers.len(), 1);
        assert_eq!(
            (
                outliers[0].issue_id.as_str(),
                outliers[0].value,
                outliers[0].fence
            ),
            ("g", 30.0, 7.0)
        );
        assert!(
            beyond_fence("tool_calls", &values[..3]).is_empty(),
            "too few issues to tell"
        );
        assert!(
            beyond_fence(
                "cost_usd",
                &[("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0)]
            )
            .is_empty()
        );
    }
}
