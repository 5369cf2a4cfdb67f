//! Reports: statistics over a run's outcomes, the run summary, and its renderers (terminal, JSON);
//! and `inert_text`, the escapes every renderer applies to text from the agent or an issue.

mod distribution;
pub mod inert_text;
mod run_summary;
mod terminal;
mod usage_summary;

pub use distribution::Distribution;
pub use run_summary::{
    BoundaryNote, BoundarySummary, IssueCounts, IssueNote, PassAllTrials, RunSummary,
    pass_all_trials, summarize,
};
pub use terminal::render_terminal;
pub use usage_summary::{Outlier, UsageSummary};
