//! `IssueTrial`: one unit of a run's work — an issue, and which of its trials this is — and the
//! order a run's queue holds them in.

use agentpod_issues::Issue;

#[derive(Debug, Clone)]
pub struct IssueTrial {
    pub issue: Issue,
    /// From 1 to the run's trials.
    pub trial: u32,
    /// How many pods have died under this trial so far: the first loss runs it again on a
    /// fresh pod, the second is the trial's own outcome (see `pod_worker`).
    pub(crate) pod_losses: u32,
}

impl IssueTrial {
    /// Every trial of every issue, trial by trial: trial 1 of every issue (in sample order)
    /// comes before any trial 2, so a run stopped early has tried as many issues as it could.
    pub(crate) fn all(issues: &[Issue], trials: u32) -> Vec<IssueTrial> {
        (1..=trials.max(1))
            .flat_map(|trial| {
                issues.iter().map(move |issue| IssueTrial {
                    issue: issue.clone(),
                    trial,
                    pod_losses: 0,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(id: &str) -> Issue {
        Issue {
            id: id.to_string(),
            fields: Default::default(),
            expected: None,
            line: 0,
        }
    }

    #[test]
    fn every_issue_gets_its_first_trial_before_any_second() {
        let order: Vec<(String, u32)> = IssueTrial::all(&[issue("b"), issue("a")], 3)
            .into_iter()
            .map(|work| (work.issue.id, work.trial))
            .collect();
        let expected: Vec<(String, u32)> =
            [("b", 1), ("a", 1), ("b", 2), ("a", 2), ("b", 3), ("a", 3)]
                .into_iter()
                .map(|(id, trial)| (id.to_string(), trial))
                .collect();
        assert_eq!(order, expected);
        assert_eq!(IssueTrial::all(&[issue("a")], 0).len(), 1, "at least once");
    }
}
