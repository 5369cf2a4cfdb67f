//! `Estimate`: a point estimate with its 95% interval.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    /// An estimate with no uncertainty (a single measured value, or a known constant).
    pub fn exact(value: f64) -> Self {
        Self {
            value,
            low: value,
            high: value,
        }
    }

    /// The same estimate multiplied by a known constant (a volume, a unit change).
    pub fn scaled(self, factor: f64) -> Self {
        let (low, high) = (self.low * factor, self.high * factor);
        Self {
            value: self.value * factor,
            low: low.min(high),
            high: low.max(high),
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}
