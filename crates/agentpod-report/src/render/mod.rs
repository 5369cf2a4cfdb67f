//! The views: the run summary, the report, the comparison and the gate result as terminal text,
//! JSON, Markdown, JUnit XML and HTML, all with the number formats of [`format`]; and
//! [`inert_text`], what every view does to text from the agent or an issue.

pub mod format;
mod html;
pub mod inert_text;
mod junit;
mod markdown;
mod report_format;
mod show_json;
mod summary_terminal;
mod svg;
pub(crate) mod terminal;

pub use html::{
    HtmlChrome, IssueHref, comparison_page, html_page_end, html_page_start, report_page,
    timeline_entry_start,
};
pub use report_format::{ReportFormat, render_comparison, render_gate, render_report};
pub use show_json::ShowJson;
pub use summary_terminal::render_summary;
