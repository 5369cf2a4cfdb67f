//! `Assessment`: a projected figure against a reference (a budget, or today's handling) —
//! within, over, or undecided at this sample size, and roughly how many issues would decide it.

use serde::{Deserialize, Serialize};

use crate::figures::estimate::Estimate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The whole interval is at or below the reference.
    Within,
    /// The whole interval is above the reference.
    Over,
    /// The interval straddles the reference: more issues are needed to tell.
    Undecided,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Within => "within",
            Standing::Over => "over",
            Standing::Undecided => "undecided",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub reference: f64,
    pub standing: Standing,
    /// For an undecided figure: the sample size at which the interval's half-width (on the side
    /// facing the reference), shrinking as 1/√n, would fall below the distance to the reference.
    /// `None` when the estimate sits exactly on the reference.
    pub issues_to_decide: Option<usize>,
}

impl Assessment {
    pub(crate) fn of(estimate: &Estimate, reference: f64, sample_issues: usize) -> Self {
        let standing = if estimate.high <= reference {
            Standing::Within
        } else if estimate.low > reference {
            Standing::Over
        } else {
            Standing::Undecided
        };
        let issues_to_decide = (standing == Standing::Undecided)
            .then(|| {
                let distance = (estimate.value - reference).abs();
                let half_width = if reference >= estimate.value {
                    estimate.high - estimate.value
                } else {
                    estimate.value - estimate.low
                };
                (distance > 0.0 && half_width > 0.0).then(|| {
                    let ratio = half_width / distance;
                    (sample_issues as f64 * ratio * ratio).ceil() as usize
                })
            })
            .flatten();
        Self {
            reference,
            standing,
            issues_to_decide,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straddling_interval_asks_for_more_issues() {
        let estimate = Estimate {
            value: 90.0,
            low: 70.0,
            high: 120.0,
        };
        assert_eq!(
            Assessment::of(&estimate, 130.0, 50).standing,
            Standing::Within
        );
        assert_eq!(Assessment::of(&estimate, 60.0, 50).standing, Standing::Over);
        let undecided = Assessment::of(&estimate, 100.0, 50);
        assert_eq!(undecided.standing, Standing::Undecided);
        // Half-width towards the budget 30, distance 10: 50 × 9 = 450 issues.
        assert_eq!(undecided.issues_to_decide, Some(450));
        assert_eq!(Assessment::of(&estimate, 90.0, 50).issues_to_decide, None);
    }
}
