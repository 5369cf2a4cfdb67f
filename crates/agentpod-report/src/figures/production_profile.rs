//! The production profile a projection reads: volume, the category mix, the way issues are
//! handled today, and the budgets. Plain data; the lead maps the pod spec's `production` block
//! onto it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductionProfile {
    pub issues_per_month: f64,
    /// How production volume splits over categories; without it the sample stands for production.
    #[serde(default)]
    pub by_category: Option<CategoryMix>,
    /// How these issues are handled today, to set the projection against.
    #[serde(default)]
    pub current: Option<CurrentHandling>,
    #[serde(default)]
    pub budgets: ProductionBudgets,
}

/// Production's mix of categories.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryMix {
    /// The issue field holding the category: `category`, or a dotted path such as
    /// `expected.category`.
    pub field: String,
    /// Share or monthly volume per category value; normalised to shares, so either works.
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentHandling {
    pub cost_usd_per_issue: f64,
    pub minutes_per_issue: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductionBudgets {
    #[serde(default)]
    pub monthly_cost_usd: Option<f64>,
    #[serde(default)]
    pub p95_cost_usd_per_issue: Option<f64>,
    #[serde(default)]
    pub p95_seconds_per_issue: Option<f64>,
}
