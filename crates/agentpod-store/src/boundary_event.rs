//! Boundary events as stored: a change to a writable table, a proposal for an approval table, or
//! a refused attempt (a violation), each with its issue and trial, and its typed detail.
//!
//! Stored as the kind, the table (a column of its own, for queries) and the detail's own JSON
//! (`detail_json`); in a bundle, as `"kind"` and `"detail"` beside the event's other fields. The
//! JSON of each detail is the shape the database crate's events serialize to, so older stores
//! and bundles read (every field has a default).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

/// Written with its table beside the kind and the detail (`show --json`, bundles), as it was
/// before the detail was typed; read back without it (the detail holds it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BoundaryEventRecord {
    pub issue_id: String,
    /// The issue's trial the event belongs to, from 1; older bundles read as 1.
    #[serde(default = "crate::records::first_trial")]
    pub trial: u32,
    /// What happened; written beside the other fields as `"kind"` and `"detail"`.
    #[serde(flatten)]
    pub detail: BoundaryDetail,
}

impl Serialize for BoundaryEventRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Written<'a> {
            issue_id: &'a str,
            trial: u32,
            table: Option<&'a str>,
            #[serde(flatten)]
            detail: &'a BoundaryDetail,
        }
        Written {
            issue_id: &self.issue_id,
            trial: self.trial,
            table: self.table(),
            detail: &self.detail,
        }
        .serialize(serializer)
    }
}

impl BoundaryEventRecord {
    pub fn kind(&self) -> BoundaryEventKind {
        self.detail.kind()
    }

    /// The table the event touched or named; `None` for a refusal that names none.
    pub fn table(&self) -> Option<&str> {
        self.detail.table()
    }
}

/// What one boundary event was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum BoundaryDetail {
    Change(RowChangeDetail),
    Proposal(ProposalDetail),
    Violation(ViolationDetail),
}

impl BoundaryDetail {
    pub fn kind(&self) -> BoundaryEventKind {
        match self {
            BoundaryDetail::Change(_) => BoundaryEventKind::Change,
            BoundaryDetail::Proposal(_) => BoundaryEventKind::Proposal,
            BoundaryDetail::Violation(_) => BoundaryEventKind::Violation,
        }
    }

    pub fn table(&self) -> Option<&str> {
        let table = match self {
            BoundaryDetail::Change(change) => Some(&change.table),
            BoundaryDetail::Proposal(proposal) => Some(&proposal.table),
            BoundaryDetail::Violation(violation) => violation.table.as_ref(),
        };
        table.map(String::as_str).filter(|table| !table.is_empty())
    }

    /// The detail's own JSON, without its kind: what `detail_json` holds.
    pub fn to_json(&self) -> Value {
        let value = match self {
            BoundaryDetail::Change(change) => serde_json::to_value(change),
            BoundaryDetail::Proposal(proposal) => serde_json::to_value(proposal),
            BoundaryDetail::Violation(violation) => serde_json::to_value(violation),
        };
        // Plain structs of strings and JSON values always serialize.
        value.unwrap_or_default()
    }

    /// A detail read back from its kind, its table column and its own JSON. The column wins
    /// over a table the JSON lacks (rows written before the detail was typed always had both).
    pub(crate) fn from_json(
        kind: BoundaryEventKind,
        table: Option<String>,
        text: &str,
    ) -> Result<BoundaryDetail, StoreError> {
        let corrupt = |error: serde_json::Error| {
            StoreError::Corrupt(format!("{} event detail: {error}", kind.as_str()))
        };
        Ok(match kind {
            BoundaryEventKind::Change => {
                let mut change: RowChangeDetail = serde_json::from_str(text).map_err(corrupt)?;
                if change.table.is_empty() {
                    change.table = table.unwrap_or_default();
                }
                BoundaryDetail::Change(change)
            }
            BoundaryEventKind::Proposal => {
                let mut proposal: ProposalDetail = serde_json::from_str(text).map_err(corrupt)?;
                if proposal.table.is_empty() {
                    proposal.table = table.unwrap_or_default();
                }
                BoundaryDetail::Proposal(proposal)
            }
            BoundaryEventKind::Violation => {
                let mut violation: ViolationDetail = serde_json::from_str(text).map_err(corrupt)?;
                violation.table = violation.table.or(table);
                BoundaryDetail::Violation(violation)
            }
        })
    }
}

/// One row the agent inserted, updated or deleted in a table it may write.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RowChangeDetail {
    /// `table`, or `schema.table` outside `public`.
    pub table: String,
    /// `insert`, `update` or `delete`.
    pub operation: String,
    /// The row before; `None` for an insert.
    pub before: Option<Value>,
    /// The row after; `None` for a delete.
    pub after: Option<Value>,
    /// The statement the agent sent, as the server received it.
    pub statement: String,
}

/// One row write to an `approval` table, held for a human (or applied, when the pod answers
/// proposals with `approve`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProposalDetail {
    pub table: String,
    pub operation: String,
    pub before: Option<Value>,
    /// The row as it would be; `None` for a delete.
    pub after: Option<Value>,
    pub statement: String,
    /// The role that proposed it.
    pub proposed_by: String,
    /// `pending` or `approved`.
    pub status: String,
}

impl Default for ProposalDetail {
    fn default() -> Self {
        ProposalDetail {
            table: String::new(),
            operation: String::new(),
            before: None,
            after: None,
            statement: String::new(),
            proposed_by: String::new(),
            status: "pending".to_string(),
        }
    }
}

/// One attempt refused: a statement or connection Postgres refused for lack of privilege, or
/// (with `network`) packets the pod's firewall refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViolationDetail {
    /// `None` for refusals before any statement, such as connecting to another database.
    pub statement: Option<String>,
    pub error: String,
    /// `None` for refusals that are not the database's.
    pub sqlstate: Option<String>,
    /// The table the error names, when it names one.
    pub table: Option<String>,
    /// The pod's firewall refused the agent's packets (the agent tried to leave its pod).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_serializes_as_kind_and_detail_beside_its_issue() {
        let record = BoundaryEventRecord {
            issue_id: "7".into(),
            trial: 2,
            detail: BoundaryDetail::Violation(ViolationDetail {
                statement: Some("DELETE FROM orders".into()),
                error: "permission denied for table orders".into(),
                sqlstate: Some("42501".into()),
                table: Some("orders".into()),
                network: false,
            }),
        };
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["kind"], "violation");
        assert_eq!(value["table"], "orders");
        assert_eq!(value["detail"]["sqlstate"], "42501");
        assert!(value["detail"].get("network").is_none());
        let back: BoundaryEventRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.table(), Some("orders"));
    }

    #[test]
    fn untyped_rows_read_with_the_table_column_filling_in() {
        let old =
            r#"{"operation":"UPDATE","before":{"id":1},"after":{"id":2},"statement":"UPDATE t"}"#;
        let detail =
            BoundaryDetail::from_json(BoundaryEventKind::Change, Some("t".into()), old).unwrap();
        let BoundaryDetail::Change(change) = &detail else {
            panic!("{detail:?}")
        };
        assert_eq!(change.table, "t");
        assert_eq!(change.after, Some(json!({"id": 2})));
        let network =
            r#"{"error":"2 packets refused","sqlstate":null,"statement":null,"network":true}"#;
        let detail =
            BoundaryDetail::from_json(BoundaryEventKind::Violation, None, network).unwrap();
        assert_eq!(detail.table(), None);
        assert!(matches!(
            detail,
            BoundaryDetail::Violation(ViolationDetail { network: true, .. })
        ));
        let proposal = BoundaryDetail::from_json(BoundaryEventKind::Proposal, None, "{}").unwrap();
        assert!(matches!(proposal, BoundaryDetail::Proposal(ref p) if p.status == "pending"));
        assert!(BoundaryDetail::from_json(BoundaryEventKind::Change, None, "[1]").is_err());
    }
}
