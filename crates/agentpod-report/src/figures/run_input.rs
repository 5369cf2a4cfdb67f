//! `RunInput`: one run as the store holds it — the run, its outcomes, its boundary events, its
//! steps and its issues' fields — the one thing reports and comparisons are built from.

use std::collections::BTreeMap;

use agentpod_store::{BoundaryEventRecord, OutcomeRecord, RunRecord, StepRecord};

#[derive(Debug, Clone)]
pub struct RunInput {
    pub run: RunRecord,
    /// Several outcomes with the same issue id are trials of that issue (`--trials K`), in order.
    pub outcomes: Vec<OutcomeRecord>,
    pub boundary_events: Vec<BoundaryEventRecord>,
    /// For the HTML timelines; may be empty.
    pub steps: Vec<StepRecord>,
    /// Each sampled issue's fields (the issue JSON), by issue id: categories are read from here.
    pub issues: BTreeMap<String, serde_json::Value>,
    /// The spec's `judge` and `customer` sections as the run recorded them (`{"judge": ...,
    /// "customer": ...}`), so runs graded by other judges or talking to other simulated
    /// customers are not compared silently; `None` when not read.
    pub side_model_settings: Option<serde_json::Value>,
}

impl RunInput {
    pub fn new(run: RunRecord, outcomes: Vec<OutcomeRecord>) -> Self {
        Self {
            run,
            outcomes,
            boundary_events: Vec::new(),
            steps: Vec::new(),
            issues: BTreeMap::new(),
            side_model_settings: None,
        }
    }

    /// `spec`: the run's stored spec, whose `judge` and `customer` sections are kept.
    pub fn with_side_model_settings(mut self, spec: &serde_json::Value) -> Self {
        self.side_model_settings = Some(serde_json::json!({
            "judge": spec.get("judge").cloned().unwrap_or_default(),
            "customer": spec.get("customer").cloned().unwrap_or_default(),
        }));
        self
    }

    pub fn with_boundary_events(mut self, events: Vec<BoundaryEventRecord>) -> Self {
        self.boundary_events = events;
        self
    }

    pub fn with_steps(mut self, steps: Vec<StepRecord>) -> Self {
        self.steps = steps;
        self
    }

    pub fn with_issues(
        mut self,
        issues: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Self {
        self.issues = issues.into_iter().collect();
        self
    }
}
