//! Boundary events as stored: a change to a writable table, a proposal for an approval table, or
//! a refused attempt (a violation), each with its issue.

use serde::Serialize;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum BoundaryEventKind {
    Change,
    Proposal,
    Violation,
}

impl BoundaryEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BoundaryEventKind::Change => "change",
            BoundaryEventKind::Proposal => "proposal",
            BoundaryEventKind::Violation => "violation",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "change" => BoundaryEventKind::Change,
            "proposal" => BoundaryEventKind::Proposal,
            "violation" => BoundaryEventKind::Violation,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BoundaryEventRecord {
    pub issue_id: String,
    /// The issue's trial the event belongs to, from 1; older bundles read as 1.
    #[serde(default = "crate::records::first_trial")]
    pub trial: u32,
    pub kind: BoundaryEventKind,
    pub table: Option<String>,
    /// The event as the database crate describes it (rows before/after, statement, error).
    pub detail: serde_json::Value,
}
