//! The Wilson score interval for a pass rate: unlike the normal approximation it stays inside
//! [0, 1] and behaves at 0 or all passes, which small evaluation sets hit often.

use crate::estimate::Estimate;

/// The 97.5th percentile of the standard normal, for two-sided 95% intervals.
pub(crate) const Z_95: f64 = 1.959_963_984_540_054;

/// The pass rate `successes / trials` with its 95% Wilson interval; `None` for no trials.
pub fn wilson_interval(successes: usize, trials: usize) -> Option<Estimate> {
    if trials == 0 {
        return None;
    }
    let n = trials as f64;
    let rate = successes as f64 / n;
    let z_squared = Z_95 * Z_95;
    let denominator = 1.0 + z_squared / n;
    let center = (rate + z_squared / (2.0 * n)) / denominator;
    let half_width =
        Z_95 / denominator * (rate * (1.0 - rate) / n + z_squared / (4.0 * n * n)).sqrt();
    Some(Estimate {
        value: rate,
        // Exact at the edges, where rounding would leave a hair off 0 or 1.
        low: if successes == 0 {
            0.0
        } else {
            (center - half_width).max(0.0)
        },
        high: if successes == trials {
            1.0
        } else {
            (center + half_width).min(1.0)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_stay_inside_zero_and_one() {
        let none = wilson_interval(0, 10).unwrap();
        assert_eq!(none.low, 0.0);
        assert!(none.high > 0.25 && none.high < 0.31, "{none:?}");
        let all = wilson_interval(10, 10).unwrap();
        assert_eq!(all.high, 1.0);
        assert!(wilson_interval(0, 0).is_none());
    }
}
