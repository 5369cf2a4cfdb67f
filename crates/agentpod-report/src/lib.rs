//! Numbers about a run, and how they are shown. Two layers:
//!
//! - [`figures`], the model: one definition of every figure — the run summary printed after a run
//!   and by `show`, the report (quality with intervals, cost, calls and time as distributions,
//!   the production projection), the comparison of runs, and the CI gate — computed from the
//!   stored records alone. Pure: records in, figures out.
//! - [`render`], the views: terminal, JSON, Markdown, JUnit XML and a self-contained HTML page,
//!   each a thin view over the figures with one set of number formats; and `inert_text`, the
//!   escapes every view applies to text from the agent or an issue.
//!
//! [`stored_run`] reads a run from the run store and the spec it ran with into [`RunInput`] and
//! [`ReportContext`], and keeps the report model with the run; the CLI and `agentpod view` both
//! read runs through it.

pub mod figures;
pub mod render;
pub mod stored_run;

pub use figures::{
    Assessment, BaselineDifference, BoundaryNote, BoundarySummary, CategoryMix, CategoryQuality,
    CategoryShare, ComparedRun, Comparison, CurrentHandling, DEFAULT_RESAMPLES, Distribution,
    Estimate, Flip, GateCheck, GateResult, GateThresholds, IssueCounts, IssueNote, IssueRow,
    MeasureSummary, Outlier, PairedDelta, PassAllTrials, ProductionBudgets, ProductionProfile,
    ProjectedFigure, Projection, Quality, REPORT_MODEL_VERSION, ReportContext, ReportError,
    RunInput, RunReport, RunSummary, Standing, TimelineEntry, TrialSamples, UsageSummary, Verdict,
    clustered_wilson_interval, evaluate_gate, mcnemar_exact_p_value, pass_all_trials, summarize,
    wilson_interval,
};
pub use render::inert_text;
pub use render::{
    ReportFormat, ShowJson, render_comparison, render_gate, render_report, render_summary,
};
