//! The report model as the run store keeps it: a [`RunReport`]'s figures and the values its
//! histograms are drawn from, serialised, so `report` of a big run reads them instead of
//! computing them again. Each timeline (steps and boundary events, for the HTML page) is left
//! out: the HTML view reads it afresh ([`RunReport::with_timelines`]).
//!
//! A model is read back only by the agentpod version and model format that wrote it
//! ([`REPORT_MODEL_VERSION`]), and only stored when it reads back as exactly the report it was
//! made from, so a stored report renders the same bytes as a computed one in every format.

use serde::{Deserialize, Serialize};

use crate::figures::run_report::{RunReport, TrialSamples};

/// What a stored model is kept and looked up under: the model's format (the number after
/// `report-model-`: bump it whenever a type inside [`RunReport`] changes shape) and the
/// agentpod that computed it (a newer version may compute a figure differently).
pub const REPORT_MODEL_VERSION: &str =
    concat!("report-model-3/agentpod-", env!("CARGO_PKG_VERSION"));

#[derive(Serialize)]
struct StoredModelRef<'a> {
    report: &'a RunReport,
    trial_samples: &'a TrialSamples,
}

#[derive(Deserialize)]
struct StoredModel {
    report: RunReport,
    trial_samples: TrialSamples,
}

impl RunReport {
    /// The report serialised for the run store; `None` when it would not read back as the same
    /// report (a figure with no exact JSON form, such as NaN): such a report is computed each
    /// time instead.
    pub fn to_stored_model(&self) -> Option<Vec<u8>> {
        let bytes = serde_json::to_vec(&StoredModelRef {
            report: self,
            trial_samples: &self.trial_samples,
        })
        .ok()?;
        let mut read = Self::from_stored_model(&bytes)?;
        read.timelines = self.timelines.clone();
        (read == *self).then_some(bytes)
    }

    /// A report read back from [`RunReport::to_stored_model`]'s bytes, without timelines;
    /// `None` when the bytes are not a model of this shape.
    pub fn from_stored_model(bytes: &[u8]) -> Option<RunReport> {
        let StoredModel {
            mut report,
            trial_samples,
        } = serde_json::from_slice(bytes).ok()?;
        report.trial_samples = trial_samples;
        Some(report)
    }
}
