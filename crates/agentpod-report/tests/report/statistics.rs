//! Wilson and McNemar against values computed by hand (and checked with Python's exact
//! binomial sums).

use agentpod_report::{mcnemar_exact_p_value, wilson_interval};

use crate::support::close;

#[test]
fn wilson_matches_hand_computed_intervals() {
    // (successes, trials, low, high): p̂ ± z … with z = 1.959964.
    let cases = [
        (17, 20, 0.639_581_135, 0.947_631_254),
        (8, 10, 0.490_162_472, 0.943_317_849),
        (1, 3, 0.061_491_945, 0.792_340_399),
        (45, 50, 0.786_397_686, 0.956_524_235),
        (3, 4, 0.300_641_843, 0.954_412_739),
    ];
    for (successes, trials, low, high) in cases {
        let interval = wilson_interval(successes, trials).unwrap();
        assert_eq!(interval.value, successes as f64 / trials as f64);
        assert!(
            close(interval.low, low, 1e-8),
            "{successes}/{trials}: {interval:?}"
        );
        assert!(
            close(interval.high, high, 1e-8),
            "{successes}/{trials}: {interval:?}"
        );
    }
    let none = wilson_interval(0, 10).unwrap();
    assert_eq!((none.low, none.value), (0.0, 0.0));
    assert!(close(none.high, 0.277_532_799, 1e-8), "{none:?}");
    assert_eq!(wilson_interval(10, 10).unwrap().high, 1.0);
    assert!(wilson_interval(0, 0).is_none());
}

#[test]
fn mcnemar_matches_exact_binomial_tails() {
    // 2 × P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1.
    let cases = [
        (1, 6, 0.125),
        (2, 10, 79.0 * 2.0 / 4096.0),
        (0, 5, 0.0625),
        (4, 4, 1.0),
        (3, 9, 0.145_996_093_75),
        (9, 3, 0.145_996_093_75),
        (0, 0, 1.0),
    ];
    for (regressions, improvements, expected) in cases {
        let p = mcnemar_exact_p_value(regressions, improvements);
        assert!(
            close(p, expected, 1e-12),
            "({regressions}, {improvements}): {p} ≠ {expected}"
        );
    }
}
