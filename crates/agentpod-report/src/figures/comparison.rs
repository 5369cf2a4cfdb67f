//! `Comparison`: two or more runs side by side on the issues they all finished — pass rate,
//! cost, tool calls, time and violations per run, each later run's paired differences from the
//! first (bootstrap over the shared issues, McNemar's exact test for pass/fail), and the issues
//! that flipped, regressions first.

use std::collections::HashMap;

use crate::Distribution;
use agentpod_store::{EvaluationSet, OutcomeStatus};
use serde::Serialize;

use crate::figures::bootstrap::{DEFAULT_RESAMPLES, bootstrap_mean};
use crate::figures::error::ReportError;
use crate::figures::estimate::Estimate;
use crate::figures::issue_measures::{IssueMeasures, issue_measures};
use crate::figures::mcnemar::mcnemar_exact_p_value;
use crate::figures::run_input::RunInput;
use crate::figures::wilson::wilson_interval;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Issues every run finished, in the first run's order: all figures are over these.
    pub shared_issues: usize,
    pub seed: u64,
    pub resamples: usize,
    /// The first run is the baseline.
    pub runs: Vec<ComparedRun>,
    /// What makes the runs less comparable than they look: different evaluation sets, and
    /// shared issue ids that hold different issues.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedRun {
    pub run_id: String,
    pub spec: String,
    pub agent_version: String,
    /// The evaluation set the run sampled from; `None` for a run recorded before sets were
    /// versioned.
    pub evaluation_set: Option<EvaluationSet>,
    /// Issues that passed every trial, over the shared issues, with the Wilson interval.
    pub passed: usize,
    pub pass_rate: Option<Estimate>,
    pub cost_usd: Option<Distribution>,
    pub tool_calls: Option<Distribution>,
    pub seconds: Option<Distribution>,
    pub violations: usize,
    /// Against the baseline; `None` for the baseline itself.
    pub against_baseline: Option<BaselineDifference>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineDifference {
    /// This run minus the baseline, per shared issue, averaged.
    pub pass_rate: PairedDelta,
    pub cost_usd: Option<PairedDelta>,
    pub tool_calls: PairedDelta,
    pub seconds: PairedDelta,
    pub violations: i64,
    /// McNemar's exact test on the flips: small means the pass/fail difference is unlikely chance.
    pub mcnemar_p_value: f64,
    pub regressions: usize,
    pub improvements: usize,
    /// Regressions first (passed in the baseline, not here), then improvements.
    pub flips: Vec<Flip>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedDelta {
    /// The mean paired difference with its bootstrap interval.
    pub mean: Estimate,
    /// Shared issues with a value in both runs.
    pub issues: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    pub issue_id: String,
    pub regression: bool,
    pub baseline: OutcomeStatus,
    pub candidate: OutcomeStatus,
    /// Why the candidate run passed or failed it.
    pub reason: String,
}

impl Comparison {
    /// Compares `runs` against the first; `seed` drives the bootstrap.
    pub fn build(runs: &[RunInput], seed: u64) -> Result<Self, ReportError> {
        Self::build_with_resamples(runs, seed, DEFAULT_RESAMPLES)
    }

    pub fn build_with_resamples(
        runs: &[RunInput],
        seed: u64,
        resamples: usize,
    ) -> Result<Self, ReportError> {
        if runs.len() < 2 {
            return Err(ReportError::TooFewRuns(runs.len()));
        }
        let measured: Vec<HashMap<String, IssueMeasures>> = runs
            .iter()
            .map(|run| {
                issue_measures(run, None)
                    .into_iter()
                    .filter(|issue| issue.finished())
                    .map(|issue| (issue.issue_id.clone(), issue))
                    .collect()
            })
            .collect();
        let mut shared: Vec<&str> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for outcome in &runs[0].outcomes {
            let id = outcome.issue_id.as_str();
            if measured.iter().all(|issues| issues.contains_key(id)) && seen.insert(id) {
                shared.push(id);
            }
        }
        let baseline = &measured[0];
        let compared = runs
            .iter()
            .zip(&measured)
            .enumerate()
            .map(|(index, (input, issues))| {
                let rows: Vec<&IssueMeasures> = shared.iter().map(|id| &issues[*id]).collect();
                let values = |value: fn(&IssueMeasures) -> f64| {
                    rows.iter().map(|issue| value(issue)).collect::<Vec<_>>()
                };
                let passed = rows.iter().filter(|issue| issue.passed()).count();
                ComparedRun {
                    run_id: input.run.id.clone(),
                    spec: input.run.spec_name.clone(),
                    agent_version: input.run.agent_version.clone(),
                    evaluation_set: input.run.evaluation_set.clone(),
                    passed,
                    pass_rate: wilson_interval(passed, rows.len()),
                    cost_usd: Distribution::of(
                        &rows
                            .iter()
                            .filter_map(|issue| issue.cost_usd)
                            .collect::<Vec<_>>(),
                    ),
                    tool_calls: Distribution::of(&values(|issue| issue.tool_calls)),
                    seconds: Distribution::of(&values(|issue| issue.seconds)),
                    violations: rows.iter().map(|issue| issue.violations).sum(),
                    against_baseline: (index > 0)
                        .then(|| difference(&shared, baseline, issues, resamples, seed)),
                }
            })
            .collect();
        Ok(Comparison {
            shared_issues: shared.len(),
            seed,
            resamples,
            warnings: set_warnings(runs, &shared),
            runs: compared,
        })
    }

    /// Regressions of the run with this id against the baseline; `None` if it is not a
    /// candidate here.
    pub fn regressions_of(&self, run_id: &str) -> Option<usize> {
        self.runs
            .iter()
            .find(|run| run.run_id == run_id)?
            .against_baseline
            .as_ref()
            .map(|difference| difference.regressions)
    }
}

/// Issues changed under the same id are named by at most this many ids.
const LISTED_CHANGED_ISSUES: usize = 5;

/// A warning for each later run whose evaluation set differs from the baseline's, one for the
/// shared issues whose stored content (fields, expected answer) differs — their pass/fail
/// compare answers to different questions — and one for each side model (the judge, the
/// simulated customers) whose settings differ.
fn set_warnings(runs: &[RunInput], shared: &[&str]) -> Vec<String> {
    let baseline = &runs[0];
    let mut warnings = Vec::new();
    for run in &runs[1..] {
        if let (Some(first), Some(other)) = (&baseline.run.evaluation_set, &run.run.evaluation_set)
            && first.sha256 != other.sha256
        {
            warnings.push(format!(
                "different evaluation sets: run {} sampled from {}, run {} from {}; only the issues both finished are compared (`agentpod dataset diff` says what changed)",
                baseline.run.id,
                first.label(),
                run.run.id,
                other.label()
            ));
        }
        for (section, what) in [("judge", "judges"), ("customer", "simulated customers")] {
            let settings = |input: &RunInput| {
                input
                    .side_model_settings
                    .as_ref()
                    .map(|settings| settings[section].clone())
            };
            if let (Some(first), Some(other)) = (settings(baseline), settings(run))
                && first != other
            {
                warnings.push(format!(
                    "different {what}: run {} and run {} were run with other `{section}` settings ({} and {}); their pass/fail {}",
                    baseline.run.id,
                    run.run.id,
                    side_model_label(&first),
                    side_model_label(&other),
                    if section == "judge" {
                        "was decided by other judges"
                    } else {
                        "comes from other conversations"
                    }
                ));
            }
        }
        let changed: Vec<&str> = shared
            .iter()
            .filter(
                |id| match (baseline.issues.get(**id), run.issues.get(**id)) {
                    (Some(before), Some(after)) => {
                        without_provenance(before) != without_provenance(after)
                    }
                    _ => false,
                },
            )
            .copied()
            .collect();
        if !changed.is_empty() {
            let mut listed = changed
                .iter()
                .take(LISTED_CHANGED_ISSUES)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if changed.len() > LISTED_CHANGED_ISSUES {
                listed.push_str(&format!(
                    " and {} more",
                    changed.len() - LISTED_CHANGED_ISSUES
                ));
            }
            warnings.push(format!(
                "{} shared {} between run {} and run {} (same id, other fields or expected answer): {listed}",
                changed.len(),
                if changed.len() == 1 { "issue differs" } else { "issues differ" },
                baseline.run.id,
                run.run.id
            ));
        }
    }
    warnings
}

/// A side model's settings as a warning names them: its model and upstream, or `none`.
fn side_model_label(settings: &serde_json::Value) -> String {
    if settings.is_null() {
        return "none".to_owned();
    }
    let Some(model) = settings["model"].as_str() else {
        return "no model".to_owned();
    };
    match settings["gateway"]["upstream"].as_str() {
        Some(upstream) => format!("model {model} on {upstream}"),
        None => format!("model {model}"),
    }
}

fn difference(
    shared: &[&str],
    baseline: &HashMap<String, IssueMeasures>,
    candidate: &HashMap<String, IssueMeasures>,
    resamples: usize,
    seed: u64,
) -> BaselineDifference {
    let pairs: Vec<(&IssueMeasures, &IssueMeasures)> = shared
        .iter()
        .map(|id| (&baseline[*id], &candidate[*id]))
        .collect();
    let paired = |value: fn(&IssueMeasures) -> Option<f64>| {
        let differences: Vec<f64> = pairs
            .iter()
            .filter_map(|(before, after)| Some(value(after)? - value(before)?))
            .collect();
        bootstrap_mean(&differences, resamples, seed).map(|mean| PairedDelta {
            mean,
            issues: differences.len(),
        })
    };
    let empty = PairedDelta {
        mean: Estimate::exact(0.0),
        issues: 0,
    };
    let mut flips: Vec<Flip> = pairs
        .iter()
        .filter(|(before, after)| before.passed() != after.passed())
        .map(|(before, after)| Flip {
            issue_id: after.issue_id.clone(),
            regression: before.passed(),
            baseline: before.status,
            candidate: after.status,
            reason: after.reason.clone(),
        })
        .collect();
    // Stable: within each group the shared (first run's) order stays.
    flips.sort_by_key(|flip| !flip.regression);
    let regressions = flips.iter().filter(|flip| flip.regression).count();
    let improvements = flips.len() - regressions;
    BaselineDifference {
        pass_rate: paired(|issue| Some(f64::from(u8::from(issue.passed())))).unwrap_or(empty),
        cost_usd: paired(|issue| issue.cost_usd),
        tool_calls: paired(|issue| Some(issue.tool_calls)).unwrap_or(empty),
        seconds: paired(|issue| Some(issue.seconds)).unwrap_or(empty),
        violations: pairs
            .iter()
            .map(|(before, after)| after.violations as i64 - before.violations as i64)
            .sum(),
        mcnemar_p_value: mcnemar_exact_p_value(regressions, improvements),
        regressions,
        improvements,
        flips,
    }
}

/// An issue as stored, without where it came from: a re-import stamps a new time, and the
/// issue still asks the same.
fn without_provenance(issue: &serde_json::Value) -> serde_json::Value {
    let mut issue = issue.clone();
    if let Some(fields) = issue.as_object_mut() {
        fields.remove("provenance");
    }
    issue
}
