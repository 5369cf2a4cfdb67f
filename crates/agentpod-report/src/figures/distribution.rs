//! `Distribution`: median, p95 and max of a sample, by the nearest-rank method.
//!
//! Nearest rank always reports a value that was really measured, which is what a person
//! checking an outlier wants to find in the run.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub count: usize,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
}

impl Distribution {
    /// `None` for an empty sample.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Self {
            count: sorted.len(),
            median: nearest_rank(&sorted, 0.50),
            p95: nearest_rank(&sorted, 0.95),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        })
    }
}

fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_known_samples() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        let distribution = Distribution::of(&hundred).unwrap();
        assert_eq!(
            (distribution.median, distribution.p95, distribution.max),
            (50.0, 95.0, 100.0)
        );
        assert_eq!(distribution.mean, 50.5);

        let distribution = Distribution::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            (distribution.median, distribution.p95, distribution.max),
            (2.0, 3.0, 3.0)
        );
        assert_eq!(Distribution::of(&[7.0]).unwrap().p95, 7.0);
        assert!(Distribution::of(&[]).is_none());
    }
}
