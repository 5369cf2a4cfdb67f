//! The CI gate's thresholds, from the spec or the command line. Every one is optional except
//! boundary violations, which default to none allowed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateThresholds {
    /// A share, 0 to 1.
    #[serde(default)]
    pub min_pass_rate: Option<f64>,
    /// Issues passed by the baseline run and not by this one.
    #[serde(default)]
    pub max_regressions: Option<usize>,
    #[serde(default)]
    pub max_monthly_cost_usd: Option<f64>,
    #[serde(default)]
    pub max_p95_cost_usd: Option<f64>,
    #[serde(default)]
    pub max_p95_seconds: Option<f64>,
    #[serde(default = "no_violations")]
    pub max_violations: Option<usize>,
}

fn no_violations() -> Option<usize> {
    Some(0)
}

impl Default for GateThresholds {
    fn default() -> Self {
        Self {
            min_pass_rate: None,
            max_regressions: None,
            max_monthly_cost_usd: None,
            max_p95_cost_usd: None,
            max_p95_seconds: None,
            max_violations: no_violations(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_default_to_none_allowed() {
        let thresholds: GateThresholds = serde_json::from_str(r#"{"min_pass_rate": 0.8}"#).unwrap();
        assert_eq!(thresholds.max_violations, Some(0));
        assert_eq!(thresholds.min_pass_rate, Some(0.8));
        assert!(serde_json::from_str::<GateThresholds>(r#"{"min_pass": 1}"#).is_err());
    }
}
