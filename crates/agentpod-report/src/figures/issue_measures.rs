//! One row per issue from a run's outcomes: its trials folded into one pass/fail and the mean
//! cost, calls and time over its finished trials, with each finished trial's own figures kept —
//! the issue is the unit every interval resamples, the trial the unit figures are taken over.

use std::collections::HashMap;

use agentpod_store::{BoundaryEventKind, OutcomeStatus};

use crate::figures::bootstrap::Measure;
use crate::figures::run_input::RunInput;

#[derive(Debug, Clone)]
pub(crate) struct IssueMeasures {
    pub(crate) issue_id: String,
    pub(crate) category: Option<String>,
    /// The passed status when every finished trial passed; else the first other finished status;
    /// for an issue with no finished trial, its last status.
    pub(crate) status: OutcomeStatus,
    pub(crate) reason: String,
    pub(crate) trials: usize,
    pub(crate) finished_trials: usize,
    pub(crate) passed_trials: usize,
    /// Means over the finished trials; cost over the priced ones only.
    pub(crate) cost_usd: Option<f64>,
    pub(crate) llm_calls: f64,
    pub(crate) tool_calls: f64,
    pub(crate) tokens: f64,
    pub(crate) seconds: f64,
    pub(crate) changes: usize,
    pub(crate) proposals: usize,
    pub(crate) violations: usize,
    /// Each finished trial's own figures, in trial order.
    pub(crate) trial_figures: Vec<TrialFigures>,
}

/// What one finished trial measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrialFigures {
    pub(crate) passed: bool,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) llm_calls: f64,
    pub(crate) tool_calls: f64,
    pub(crate) tokens: f64,
    pub(crate) seconds: f64,
}

impl TrialFigures {
    fn of(outcome: &agentpod_store::OutcomeRecord) -> Self {
        Self {
            passed: outcome.status == OutcomeStatus::Passed,
            cost_usd: outcome.usage.cost_usd,
            llm_calls: f64::from(outcome.usage.llm_calls),
            tool_calls: f64::from(outcome.usage.tool_calls),
            // Saturating: the counts are the upstream's, and an upstream can say anything.
            tokens: outcome
                .usage
                .input_tokens
                .saturating_add(outcome.usage.output_tokens) as f64,
            // Time per issue: the agent's start to its end, less the provider's throttling of its
            // model calls (`agent_ms`), one definition.
            seconds: outcome.agent_ms() as f64 / 1000.0,
        }
    }
}

/// One value per finished trial of `issues`, tagged with the issue's index there: the shape the
/// cluster bootstrap resamples. Trials without a value (an unpriced cost) are left out.
pub(crate) fn trial_measure(
    issues: &[&IssueMeasures],
    value: fn(&TrialFigures) -> Option<f64>,
) -> Measure {
    issues
        .iter()
        .enumerate()
        .flat_map(|(index, issue)| {
            issue
                .trial_figures
                .iter()
                .filter_map(move |trial| Some((index, value(trial)?)))
        })
        .collect()
}

impl IssueMeasures {
    pub(crate) fn finished(&self) -> bool {
        self.finished_trials > 0
    }

    pub(crate) fn passed(&self) -> bool {
        self.finished() && self.passed_trials == self.finished_trials
    }
}

pub(crate) fn is_finished(status: OutcomeStatus) -> bool {
    matches!(
        status,
        OutcomeStatus::Passed | OutcomeStatus::Failed | OutcomeStatus::Errored
    )
}

/// Issues in the order their first outcome appears.
pub(crate) fn issue_measures(input: &RunInput, category_field: Option<&str>) -> Vec<IssueMeasures> {
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut grouped: Vec<Vec<&agentpod_store::OutcomeRecord>> = Vec::new();
    for outcome in &input.outcomes {
        let index = *index_of
            .entry(outcome.issue_id.as_str())
            .or_insert_with(|| {
                grouped.push(Vec::new());
                grouped.len() - 1
            });
        grouped[index].push(outcome);
    }
    let mut boundary: HashMap<&str, [usize; 3]> = HashMap::new();
    for event in &input.boundary_events {
        let counts = boundary.entry(event.issue_id.as_str()).or_default();
        match event.kind() {
            BoundaryEventKind::Change => counts[0] += 1,
            BoundaryEventKind::Proposal => counts[1] += 1,
            BoundaryEventKind::Violation => counts[2] += 1,
        }
    }
    grouped
        .into_iter()
        .map(|trials| {
            let first = trials[0];
            let finished: Vec<_> = trials.iter().filter(|o| is_finished(o.status)).collect();
            let passed_trials = finished
                .iter()
                .filter(|o| o.status == OutcomeStatus::Passed)
                .count();
            let decisive = finished
                .iter()
                .find(|o| o.status != OutcomeStatus::Passed)
                .or(finished.first())
                .map(|o| **o)
                .unwrap_or(trials[trials.len() - 1]);
            let figures: Vec<TrialFigures> = finished.iter().map(|o| TrialFigures::of(o)).collect();
            let mean = |value: fn(&TrialFigures) -> f64| {
                if figures.is_empty() {
                    0.0
                } else {
                    figures.iter().map(value).sum::<f64>() / figures.len() as f64
                }
            };
            let costs: Vec<f64> = figures.iter().filter_map(|o| o.cost_usd).collect();
            let [changes, proposals, violations] = boundary
                .get(first.issue_id.as_str())
                .copied()
                .unwrap_or_default();
            IssueMeasures {
                issue_id: first.issue_id.clone(),
                category: category_field
                    .and_then(|field| category_of(input.issues.get(&first.issue_id)?, field)),
                status: decisive.status,
                reason: decisive.reason.clone(),
                trials: trials.len(),
                finished_trials: finished.len(),
                passed_trials,
                cost_usd: (!costs.is_empty())
                    .then(|| costs.iter().sum::<f64>() / costs.len() as f64),
                llm_calls: mean(|o| o.llm_calls),
                tool_calls: mean(|o| o.tool_calls),
                tokens: mean(|o| o.tokens),
                seconds: mean(|o| o.seconds),
                changes,
                proposals,
                violations,
                trial_figures: figures,
            }
        })
        .collect()
}

/// The value at a dotted path of the issue's fields, as text.
pub(crate) fn category_of(issue: &serde_json::Value, field: &str) -> Option<String> {
    let mut value = issue;
    for key in field.split('.') {
        value = value.get(key)?;
    }
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

/// The field a report groups pass rates by: the production mix's, else the sample's
/// `issues.stratify_by`, else `category`, else `expected.category`, whichever some issue has.
pub(crate) fn default_category_field(
    input: &RunInput,
    mix_field: Option<&str>,
    stratify_by: Option<&str>,
) -> Option<String> {
    if let Some(field) = mix_field {
        return Some(field.to_string());
    }
    stratify_by
        .into_iter()
        .chain(["category", "expected.category"])
        .find(|field| {
            input
                .issues
                .values()
                .any(|issue| category_of(issue, field).is_some())
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn categories_come_from_dotted_paths() {
        let issue =
            json!({"category": "billing", "expected": {"category": "refund", "priority": 2}});
        assert_eq!(category_of(&issue, "category").as_deref(), Some("billing"));
        assert_eq!(
            category_of(&issue, "expected.category").as_deref(),
            Some("refund")
        );
        assert_eq!(
            category_of(&issue, "expected.priority").as_deref(),
            Some("2")
        );
        assert_eq!(category_of(&issue, "expected.missing"), None);
    }
}
