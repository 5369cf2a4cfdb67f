//! The Wilson score interval for a pass rate: unlike the normal approximation it stays inside
//! [0, 1] and behaves at 0 or all passes, which small evaluation sets hit often.
//!
//! Trials of one issue are not independent (an agent that solves an issue tends to solve it
//! again), so a pass rate over trials takes its interval on the *effective* sample size: the
//! number of trials divided by Kish's design effect, from the cluster-robust variance of the
//! ratio (trials clustered by issue). With one trial per issue that is the plain Wilson
//! interval; with K identical trials of every issue it is the one-trial interval of the issues.

use crate::figures::estimate::Estimate;

/// The 97.5th percentile of the standard normal, for two-sided 95% intervals.
pub(crate) const Z_95: f64 = 1.959_963_984_540_054;

/// The pass rate `successes / trials` with its 95% Wilson interval; `None` for no trials.
pub fn wilson_interval(successes: usize, trials: usize) -> Option<Estimate> {
    if trials == 0 {
        return None;
    }
    Some(wilson_score(
        successes as f64 / trials as f64,
        trials as f64,
    ))
}

/// Passed trials over finished trials, with the Wilson interval on the effective sample size of
/// trials clustered by issue. `issues` holds (passed trials, finished trials) per issue; issues
/// with no finished trial are ignored. `None` when no trial finished.
pub fn clustered_wilson_interval(issues: &[(usize, usize)]) -> Option<Estimate> {
    let issues: Vec<(f64, f64)> = issues
        .iter()
        .filter(|(_, finished)| *finished > 0)
        .map(|(passed, finished)| (*passed as f64, *finished as f64))
        .collect();
    if issues.iter().all(|(_, finished)| *finished == 1.0) {
        // One trial per issue: the plain interval, computed from the counts exactly.
        let passed = issues.iter().filter(|(passed, _)| *passed > 0.0).count();
        return wilson_interval(passed, issues.len());
    }
    let trials: f64 = issues.iter().map(|(_, finished)| finished).sum();
    if trials == 0.0 {
        return None;
    }
    let rate = issues.iter().map(|(passed, _)| passed).sum::<f64>() / trials;
    // Σ (yᵢ − p·mᵢ)²: the between-issue spread of the passes around the overall rate.
    let spread: f64 = issues
        .iter()
        .map(|(passed, finished)| (passed - rate * finished).powi(2))
        .sum();
    let effective = if rate <= 0.0 || rate >= 1.0 {
        // Every trial agrees (all passed or none did): nothing to estimate the clustering from,
        // so each issue counts once.
        issues.len() as f64
    } else if spread <= f64::EPSILON * trials * trials {
        // Every issue at exactly the overall rate: its trials vary as much as they can, so
        // they are worth as much as independent ones (and no more).
        trials
    } else {
        // n_eff = p(1−p)·M² / Σ(yᵢ − p·mᵢ)², never more than the trials themselves.
        (rate * (1.0 - rate) * trials * trials / spread).min(trials)
    };
    Some(wilson_score(rate, effective))
}

/// The Wilson interval of `rate` observed over `n` (possibly effective, so fractional) trials.
pub(crate) fn wilson_score(rate: f64, n: f64) -> Estimate {
    let z_squared = Z_95 * Z_95;
    let denominator = 1.0 + z_squared / n;
    let center = (rate + z_squared / (2.0 * n)) / denominator;
    let half_width =
        Z_95 / denominator * (rate * (1.0 - rate) / n + z_squared / (4.0 * n * n)).sqrt();
    Estimate {
        value: rate,
        // Exact at the edges, where rounding would leave a hair off 0 or 1.
        low: if rate <= 0.0 {
            0.0
        } else {
            (center - half_width).max(0.0)
        },
        high: if rate >= 1.0 {
            1.0
        } else {
            (center + half_width).min(1.0)
        },
    }
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

    #[test]
    fn one_trial_per_issue_is_the_plain_interval() {
        let issues: Vec<(usize, usize)> = (0..20).map(|i| (usize::from(i % 3 == 0), 1)).collect();
        let clustered = clustered_wilson_interval(&issues).unwrap();
        let plain = wilson_interval(7, 20).unwrap();
        assert!(
            (clustered.low - plain.low).abs() < 1e-12,
            "{clustered:?} {plain:?}"
        );
        assert!((clustered.high - plain.high).abs() < 1e-12);
    }

    #[test]
    fn identical_trials_count_as_one_issue_each() {
        let issues: Vec<(usize, usize)> =
            (0..20).map(|i| (if i < 13 { 3 } else { 0 }, 3)).collect();
        let clustered = clustered_wilson_interval(&issues).unwrap();
        let issue_level = wilson_interval(13, 20).unwrap();
        assert!((clustered.value - issue_level.value).abs() < 1e-12);
        assert!(
            (clustered.low - issue_level.low).abs() < 1e-9,
            "{clustered:?} {issue_level:?}"
        );
        assert!((clustered.high - issue_level.high).abs() < 1e-9);
        // Treating the 60 trials as independent would claim a narrower interval.
        let naive = wilson_interval(39, 60).unwrap();
        assert!(naive.high - naive.low < clustered.high - clustered.low);
        // Trials that disagree within issues carry more information than identical ones.
        let mixed: Vec<(usize, usize)> = (0..20).map(|i| (if i < 19 { 2 } else { 1 }, 3)).collect();
        let interval = clustered_wilson_interval(&mixed).unwrap();
        assert!(
            interval.high - interval.low
                <= wilson_interval(13, 20).unwrap().high - wilson_interval(13, 20).unwrap().low
        );
        assert!(clustered_wilson_interval(&[(0, 0)]).is_none());
        // Every issue passing 1 of 2: no spread between issues; the trials count in full, so
        // one issue passing 2 of 2 instead moves the interval a little, not by a jump.
        let even: Vec<(usize, usize)> = vec![(1, 2); 10];
        let one_more: Vec<(usize, usize)> = (0..10).map(|i| (1 + usize::from(i == 0), 2)).collect();
        let (even, one_more) = (
            clustered_wilson_interval(&even).unwrap(),
            clustered_wilson_interval(&one_more).unwrap(),
        );
        let (width, other) = (even.high - even.low, one_more.high - one_more.low);
        assert!(
            (width - other).abs() < 0.05 * width,
            "{even:?} {one_more:?}"
        );
    }
}
