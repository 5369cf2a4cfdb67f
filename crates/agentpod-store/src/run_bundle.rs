//! `RunBundle`: a whole run as one document — the run, its spec, its sample, its outcomes,
//! boundary events and steps — so runs move between machines (`agentpod export --bundle`,
//! `agentpod import`), e.g. a CI job comparing against the run another job stored.

use serde::{Deserialize, Serialize};

use crate::boundary_event::BoundaryEventRecord;
use crate::records::{OutcomeRecord, RunRecord};
use crate::step::StepRecord;

/// The bundle format's name and version; a reader refuses bundles it does not know. Version 2
/// added trials: an older reader would fold an issue's trials into one, so it must refuse.
pub const RUN_BUNDLE_FORMAT: &str = "agentpod-run-bundle/2";

/// Formats this version still reads: version 1 is version 2 with every record trial 1.
pub(crate) const READABLE_BUNDLE_FORMATS: &[&str] = &["agentpod-run-bundle/1", RUN_BUNDLE_FORMAT];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunBundle {
    pub format: String,
    pub run: RunRecord,
    pub spec: serde_json::Value,
    pub boundary: Option<serde_json::Value>,
    /// The sample in order: (issue id, issue as stored).
    pub issues: Vec<(String, serde_json::Value)>,
    pub outcomes: Vec<OutcomeRecord>,
    pub boundary_events: Vec<BoundaryEventRecord>,
    pub steps: Vec<StepRecord>,
}
