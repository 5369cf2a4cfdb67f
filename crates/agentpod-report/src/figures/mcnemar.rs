//! McNemar's exact test for paired pass/fail: only the issues that flipped carry information,
//! and under "no difference" each flip is a fair coin, so the p-value is a binomial tail.

/// Two-sided exact p-value for `regressions` flips one way and `improvements` the other.
/// 1 when nothing flipped.
pub fn mcnemar_exact_p_value(regressions: usize, improvements: usize) -> f64 {
    let flips = regressions + improvements;
    if flips == 0 {
        return 1.0;
    }
    let smaller = regressions.min(improvements);
    // Log space: 0.5^n underflows past about a thousand flips.
    let ln_half_power = -(flips as f64) * std::f64::consts::LN_2;
    let mut ln_choose = 0.0_f64;
    let mut tail = 0.0_f64;
    for successes in 0..=smaller {
        if successes > 0 {
            ln_choose += ((flips - successes + 1) as f64).ln() - (successes as f64).ln();
        }
        tail += (ln_choose + ln_half_power).exp();
    }
    (2.0 * tail).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_flips_are_not_evidence() {
        assert_eq!(mcnemar_exact_p_value(3, 3), 1.0);
        assert_eq!(mcnemar_exact_p_value(0, 0), 1.0);
        // Many flips, all one way: tiny but not zero, and no overflow.
        let p = mcnemar_exact_p_value(0, 2000);
        assert!((0.0..1e-300).contains(&p), "{p}");
    }
}
