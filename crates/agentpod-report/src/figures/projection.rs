//! `Projection`: the measured per-issue distributions carried to production volume — monthly
//! cost, model calls, tool calls, agent-hours and the concurrency that volume needs — each with a
//! bootstrap interval, weighted by the production category mix when one is given, and set
//! against today's handling and the budgets; with a mix, also the pass rate production would see.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::figures::assessment::Assessment;
use crate::figures::bootstrap::{MeasureStatistics, Strata, bootstrap};
use crate::figures::estimate::Estimate;
use crate::figures::issue_measures::{IssueMeasures, trial_measure};
use crate::figures::production_profile::ProductionProfile;
use crate::figures::wilson::wilson_score;

/// The average month (365.25 / 12 days), for arrival rates.
pub(crate) const SECONDS_PER_MONTH: f64 = 365.25 / 12.0 * 24.0 * 3600.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    pub issues_per_month: f64,
    /// Finished issues the projection rests on.
    pub sample_issues: usize,
    /// The field the mix is read from, when the projection is weighted by category.
    pub category_field: Option<String>,
    pub categories: Vec<CategoryShare>,
    /// Categories of the production mix with no sampled issue: their share is spread over the
    /// others, which is a guess — sample them.
    pub unsampled_categories: Vec<String>,
    /// Sampled issues whose category is not in the production mix: left out of the projection.
    pub issues_outside_mix: usize,
    /// With a category mix: each category's pass rate (passed over finished trials) weighted by
    /// its production share, with Wilson's interval on Kish's effective number of issues for the
    /// mix's weights. `None` without a mix, where it would be the measured pass rate itself.
    pub pass_rate: Option<Estimate>,
    pub monthly_cost_usd: Option<ProjectedFigure>,
    pub monthly_model_calls: Option<ProjectedFigure>,
    pub monthly_tool_calls: Option<ProjectedFigure>,
    pub monthly_agent_hours: Option<ProjectedFigure>,
    /// Little's law: arrivals per second × mean seconds per issue.
    pub concurrency_mean: Option<ProjectedFigure>,
    /// Arrivals per second × p95 seconds per issue: agents to provision so slow issues don't queue.
    pub concurrency_p95: Option<ProjectedFigure>,
    pub p95_cost_usd_per_issue: Option<ProjectedFigure>,
    pub p95_seconds_per_issue: Option<ProjectedFigure>,
    /// Today's handling at the same volume.
    pub current_monthly_cost_usd: Option<f64>,
    pub current_monthly_hours: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryShare {
    pub value: String,
    /// Share of production volume this category's sampled issues stand for, after spreading the
    /// unsampled categories' shares.
    pub share: f64,
    pub sampled: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProjectedFigure {
    pub estimate: Estimate,
    pub against_budget: Option<Assessment>,
    pub against_current: Option<Assessment>,
}

impl ProjectedFigure {
    /// Every assessment of the figure, budget first.
    pub fn assessments(&self) -> impl Iterator<Item = (&'static str, &Assessment)> {
        self.against_budget
            .iter()
            .map(|assessment| ("budget", assessment))
            .chain(
                self.against_current
                    .iter()
                    .map(|assessment| ("current", assessment)),
            )
    }
}

pub(crate) fn project(
    issues: &[IssueMeasures],
    profile: &ProductionProfile,
    resamples: usize,
    seed: u64,
) -> Option<Projection> {
    let finished: Vec<&IssueMeasures> = issues.iter().filter(|issue| issue.finished()).collect();
    let mix = Mix::of(&finished, profile);
    if mix.included.is_empty() {
        return None;
    }
    let measure = |value| trial_measure(&mix.included, value);
    let measures = vec![
        measure(|trial| trial.cost_usd),
        measure(|trial| Some(trial.llm_calls)),
        measure(|trial| Some(trial.tool_calls)),
        measure(|trial| Some(trial.seconds)),
        measure(|trial| Some(f64::from(u8::from(trial.passed)))),
    ];
    let [cost, llm_calls, tool_calls, seconds, passed]: [Option<MeasureStatistics>; 5] =
        bootstrap(&measures, &mix.strata, resamples, seed)
            .try_into()
            .unwrap_or([None; 5]);
    let weighted = mix.field.is_some();
    // The mix's pass rate takes Wilson's interval on Kish's effective number of issues for the
    // mix's weights (1 / Σ share² / issues): a bootstrap is too narrow here, with no spread at
    // all when every trial passed or a category has one issue.
    let effective_issues = 1.0
        / mix
            .categories
            .iter()
            .map(|category| category.share * category.share / category.sampled as f64)
            .sum::<f64>();
    let volume = profile.issues_per_month;
    let arrivals_per_second = volume / SECONDS_PER_MONTH;
    let budgets = &profile.budgets;
    let current_cost = profile
        .current
        .map(|current| current.cost_usd_per_issue * volume);
    let current_hours = profile
        .current
        .map(|current| current.minutes_per_issue * volume / 60.0);
    let figure = |statistics: Option<MeasureStatistics>,
                  pick: fn(&MeasureStatistics) -> Estimate,
                  factor: f64,
                  budget: Option<f64>,
                  current: Option<f64>| {
        statistics.map(|statistics| {
            let estimate = pick(&statistics).scaled(factor);
            ProjectedFigure {
                estimate,
                against_budget: budget
                    .map(|budget| Assessment::of(&estimate, budget, statistics.issues)),
                against_current: current
                    .map(|current| Assessment::of(&estimate, current, statistics.issues)),
            }
        })
    };
    let mean = |statistics: &MeasureStatistics| statistics.mean;
    let tail = |statistics: &MeasureStatistics| statistics.p95;
    Some(Projection {
        issues_per_month: volume,
        sample_issues: mix.included.len(),
        category_field: mix.field,
        categories: mix.categories,
        unsampled_categories: mix.unsampled,
        issues_outside_mix: mix.outside,
        pass_rate: weighted
            .then(|| passed.map(|statistics| wilson_score(statistics.mean.value, effective_issues)))
            .flatten(),
        monthly_cost_usd: figure(cost, mean, volume, budgets.monthly_cost_usd, current_cost),
        monthly_model_calls: figure(llm_calls, mean, volume, None, None),
        monthly_tool_calls: figure(tool_calls, mean, volume, None, None),
        monthly_agent_hours: figure(seconds, mean, volume / 3600.0, None, current_hours),
        concurrency_mean: figure(seconds, mean, arrivals_per_second, None, None),
        concurrency_p95: figure(seconds, tail, arrivals_per_second, None, None),
        p95_cost_usd_per_issue: figure(cost, tail, 1.0, budgets.p95_cost_usd_per_issue, None),
        p95_seconds_per_issue: figure(seconds, tail, 1.0, budgets.p95_seconds_per_issue, None),
        current_monthly_cost_usd: current_cost,
        current_monthly_hours: current_hours,
    })
}

/// The sampled issues arranged as strata of the production mix.
struct Mix<'a> {
    included: Vec<&'a IssueMeasures>,
    strata: Strata,
    field: Option<String>,
    categories: Vec<CategoryShare>,
    unsampled: Vec<String>,
    outside: usize,
}

impl<'a> Mix<'a> {
    fn of(finished: &[&'a IssueMeasures], profile: &ProductionProfile) -> Self {
        let unweighted = |finished: &[&'a IssueMeasures]| Mix {
            included: finished.to_vec(),
            strata: Strata::single(finished.len()),
            field: None,
            categories: Vec::new(),
            unsampled: Vec::new(),
            outside: 0,
        };
        let Some(mix) = &profile.by_category else {
            return unweighted(finished);
        };
        let weights: BTreeMap<&str, f64> = mix
            .weights
            .iter()
            .filter(|(_, weight)| **weight > 0.0 && weight.is_finite())
            .map(|(value, weight)| (value.as_str(), *weight))
            .collect();
        let mut members: BTreeMap<&str, Vec<&'a IssueMeasures>> = BTreeMap::new();
        let mut outside = 0;
        for issue in finished {
            match issue.category.as_deref() {
                Some(category) if weights.contains_key(category) => {
                    members.entry(category).or_default().push(issue)
                }
                _ => outside += 1,
            }
        }
        let unsampled: Vec<String> = weights
            .keys()
            .filter(|value| !members.contains_key(*value))
            .map(|value| value.to_string())
            .collect();
        if members.is_empty() {
            // Nothing sampled matches the mix: the sample is all there is to go on.
            return Mix {
                unsampled,
                ..unweighted(finished)
            };
        }
        let sampled_weight: f64 = members.keys().map(|value| weights[value]).sum();
        let mut included = Vec::new();
        let mut strata = Strata {
            stratum_of_issue: Vec::new(),
            members: Vec::new(),
            shares: Vec::new(),
        };
        let mut categories = Vec::new();
        for (stratum, (value, issues)) in members.iter().enumerate() {
            let share = weights[value] / sampled_weight;
            let first = included.len();
            included.extend(issues.iter().copied());
            strata
                .stratum_of_issue
                .extend(std::iter::repeat_n(stratum, issues.len()));
            strata.members.push((first..included.len()).collect());
            strata.shares.push(share);
            categories.push(CategoryShare {
                value: value.to_string(),
                share,
                sampled: issues.len(),
            });
        }
        Mix {
            included,
            strata,
            field: Some(mix.field.clone()),
            categories,
            unsampled,
            outside,
        }
    }
}
