//! Run analysis: what a person decides from after a run — quality with confidence intervals,
//! cost, tool calls and time as distributions, the projection to production volume against the
//! budgets, side-by-side comparison of runs, and the CI gate — rendered for terminals, JSON,
//! Markdown, JUnit XML and a self-contained HTML page.
//!
//! Everything here is pure: records in, figures and text out. The CLI reads the run store and
//! the spec, maps them to [`RunInput`], [`ProductionProfile`] and [`GateThresholds`], and calls in.

mod assessment;
mod bootstrap;
mod comparison;
mod error;
mod estimate;
mod gate;
mod gate_thresholds;
mod issue_measures;
mod mcnemar;
mod production_profile;
mod projection;
mod render;
mod run_input;
mod run_report;
mod wilson;

pub use assessment::{Assessment, Standing};
pub use bootstrap::DEFAULT_RESAMPLES;
pub use comparison::{BaselineDifference, ComparedRun, Comparison, Flip, PairedDelta};
pub use error::AnalysisError;
pub use estimate::Estimate;
pub use gate::{GateCheck, GateResult, evaluate_gate};
pub use gate_thresholds::GateThresholds;
pub use mcnemar::mcnemar_exact_p_value;
pub use production_profile::{CategoryMix, CurrentHandling, ProductionBudgets, ProductionProfile};
pub use projection::{CategoryShare, ProjectedFigure, Projection};
pub use render::{ReportFormat, render_comparison, render_gate, render_report};
pub use run_input::RunInput;
pub use run_report::{
    CategoryQuality, IssueRow, MeasureSummary, Quality, ReportContext, RunReport, TimelineEntry,
    TrialSamples, Verdict,
};
pub use wilson::{clustered_wilson_interval, wilson_interval};
