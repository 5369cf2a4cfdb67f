//! Reports: statistics over a run's outcomes, the run summary, and its renderers (terminal, JSON).

mod distribution;
mod run_summary;
mod terminal;

pub use distribution::Distribution;
pub use run_summary::{
    BoundaryNote, BoundarySummary, IssueCounts, IssueNote, RunSummary, summarize,
};
pub use terminal::render_terminal;
