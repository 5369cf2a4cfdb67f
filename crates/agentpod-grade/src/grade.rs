//! `Grade`: the checks a grader made for one issue, and the verdict they add up to.

use serde::Serialize;
use serde_json::Value;

/// One thing a grader checked.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Check {
    /// What was checked, e.g. `output.category`.
    pub name: String,
    pub passed: bool,
    pub expected: Value,
    pub actual: Value,
}

/// All checks for one issue. It passes when every check passes; an issue with no checks is ungraded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Grade {
    pub checks: Vec<Check>,
}

impl Grade {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    pub fn is_ungraded(&self) -> bool {
        self.checks.is_empty()
    }

    /// One line for people: which checks failed, with expected and actual values.
    pub fn explain(&self) -> String {
        if self.is_ungraded() {
            return "no expected fields to grade against".to_string();
        }
        let failures: Vec<String> = self
            .checks
            .iter()
            .filter(|check| !check.passed)
            .map(|check| {
                format!(
                    "{}: expected {}, got {}",
                    check.name, check.expected, check.actual
                )
            })
            .collect();
        if failures.is_empty() {
            format!(
                "{} of {} checks passed",
                self.checks.len(),
                self.checks.len()
            )
        } else {
            failures.join("; ")
        }
    }
}
