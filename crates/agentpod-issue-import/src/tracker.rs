//! The trackers whose exports can be imported, and which reader reads each.

use std::path::Path;

use crate::{ImportError, TrackerIssue};

/// A tracker, by the export format it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracker {
    /// The REST API's issues JSON, as `gh api repos/O/R/issues --paginate` saves it.
    Github,
    /// Jira's CSV export ("Export Excel CSV (all fields)").
    Jira,
    /// Zendesk's ticket JSON: `{"tickets": [...]}` (the API, the incremental export) or one
    /// ticket per line (the account's JSON data export).
    Zendesk,
    /// Freshdesk's ticket JSON: the `/api/v2/tickets` array.
    Freshdesk,
}

/// What a tracker's export came to: its issues, and how many records were skipped as not issues.
#[derive(Debug, Default)]
pub(crate) struct TrackerExport {
    pub(crate) issues: Vec<TrackerIssue>,
    /// Pull requests in a GitHub export (the issues endpoint lists them too).
    pub(crate) skipped_pull_requests: usize,
}

impl Tracker {
    /// The name written in provenance and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tracker::Github => "github",
            Tracker::Jira => "jira",
            Tracker::Zendesk => "zendesk",
            Tracker::Freshdesk => "freshdesk",
        }
    }

    /// The issue fields this tracker's issues have, for naming the answer.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Tracker::Github => crate::github_issues::FIELDS,
            Tracker::Jira => crate::jira_csv::FIELDS,
            Tracker::Zendesk => crate::zendesk_tickets::FIELDS,
            Tracker::Freshdesk => crate::freshdesk_tickets::FIELDS,
        }
    }

    /// The field holding the issue's list of labels (GitHub, Jira) or tags (Zendesk, Freshdesk).
    /// Fields that give `answer` away when it is the answer, so they leave with it: a closed
    /// GitHub issue's `state_reason` says its `state`, a resolved Jira issue's `status` its
    /// `resolution` (and the other way round).
    pub(crate) fn reveals(self, answer: &str) -> &'static [&'static str] {
        match (self, answer) {
            (Tracker::Github, "state") => &["state_reason"],
            (Tracker::Github, "state_reason") => &["state"],
            (Tracker::Jira, "resolution") => &["status"],
            (Tracker::Jira, "status") => &["resolution"],
            _ => &[],
        }
    }

    pub fn labels_field(self) -> &'static str {
        match self {
            Tracker::Github | Tracker::Jira => "labels",
            Tracker::Zendesk | Tracker::Freshdesk => "tags",
        }
    }

    pub(crate) fn read(self, file: &Path, text: &str) -> Result<TrackerExport, ImportError> {
        match self {
            Tracker::Github => crate::github_issues::read(file, text),
            Tracker::Jira => crate::jira_csv::read(file, text),
            Tracker::Zendesk => crate::zendesk_tickets::read(file, text),
            Tracker::Freshdesk => crate::freshdesk_tickets::read(file, text),
        }
    }
}
