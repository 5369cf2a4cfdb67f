//! Renderers: the run report, the comparison and the gate result as terminal text, JSON,
//! Markdown, JUnit XML and HTML.

pub(crate) mod format;
mod html;
mod junit;
mod markdown;
mod report_format;
mod svg;
pub(crate) mod terminal;

pub use report_format::{ReportFormat, render_comparison, render_gate, render_report};
