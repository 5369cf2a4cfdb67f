//! The model: every figure about a run, defined once. `summarize` gives the run summary (counts,
//! pass rate, distributions per trial); [`RunReport`] the full report with intervals, the
//! projection and the verdict (which is the gate's); [`Comparison`] runs side by side;
//! [`evaluate_gate`] the CI gate. The README's "Reading a report" names each definition.

pub(crate) mod assessment;
pub(crate) mod bootstrap;
pub(crate) mod comparison;
pub(crate) mod distribution;
pub(crate) mod error;
pub(crate) mod estimate;
pub(crate) mod gate;
pub(crate) mod gate_thresholds;
pub(crate) mod issue_measures;
pub(crate) mod mcnemar;
pub(crate) mod production_profile;
pub(crate) mod projection;
pub(crate) mod report_model;
pub(crate) mod run_input;
pub(crate) mod run_report;
pub(crate) mod run_summary;
pub(crate) mod side_models_summary;
pub(crate) mod usage_summary;
pub(crate) mod wilson;

pub use assessment::{Assessment, Standing};
pub use bootstrap::DEFAULT_RESAMPLES;
pub use comparison::{BaselineDifference, ComparedRun, Comparison, Flip, PairedDelta};
pub use distribution::Distribution;
pub use error::ReportError;
pub use estimate::Estimate;
pub use gate::{GateCheck, GateResult, evaluate_gate};
pub use gate_thresholds::GateThresholds;
pub use mcnemar::mcnemar_exact_p_value;
pub use production_profile::{CategoryMix, CurrentHandling, ProductionBudgets, ProductionProfile};
pub use projection::{CategoryShare, ProjectedFigure, Projection};
pub use report_model::REPORT_MODEL_VERSION;
pub use run_input::RunInput;
pub use run_report::{
    CategoryQuality, IssueRow, MeasureSummary, Quality, ReportContext, RunReport, TimelineEntry,
    TrialSamples, Verdict,
};
pub use run_summary::{
    BoundaryNote, BoundarySummary, IssueCounts, IssueNote, PassAllTrials, RunSpread, RunSummary,
    ShardTime, pass_all_trials, summarize,
};
pub use usage_summary::{Outlier, UsageSummary};
pub use wilson::{clustered_wilson_interval, wilson_interval};
