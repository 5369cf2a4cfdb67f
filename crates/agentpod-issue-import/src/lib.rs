//! Issue import: what trackers export (GitHub's REST issues JSON, Jira's CSV, Zendesk's and
//! Freshdesk's ticket JSON) into the records of a JSON lines issues file, each with its
//! provenance and, when the user names it, its answer (`expected`) split off from what the agent
//! sees.

mod answer;
mod freshdesk_tickets;
mod github_issues;
mod import;
mod import_error;
mod jira_csv;
mod json_export;
mod provenance;
mod tracker;
mod tracker_issue;
mod zendesk_tickets;

pub use answer::AnswerSelection;
pub use import::{Imported, import, write_jsonl};
pub use import_error::ImportError;
pub use provenance::Provenance;
pub use tracker::Tracker;
pub use tracker_issue::TrackerIssue;
