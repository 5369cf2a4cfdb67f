//! `BoundaryEvents`: what the boundary saw during one issue — changes the agent made, writes it
//! proposed, and attempts Postgres refused.

use serde::Serialize;
use serde_json::Value;

/// Everything the boundary recorded for one issue database, each list in the order it happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BoundaryEvents {
    pub changes: Vec<RowChange>,
    pub proposals: Vec<Proposal>,
    pub violations: Vec<Violation>,
}

/// One row the agent inserted, updated or deleted in a table it may write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowChange {
    /// `table`, or `schema.table` outside `public`.
    pub table: String,
    /// `insert`, `update` or `delete`.
    pub operation: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The statement the agent sent, as the server received it.
    pub statement: String,
}

/// One row write to an `approval` table, held for a human (or applied, when the pod answers
/// proposals with `approve`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
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

/// One statement (or connection) the server refused because the agent lacks the privilege.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// `None` for refusals before any statement, such as connecting to another database.
    pub statement: Option<String>,
    pub error: String,
    pub sqlstate: String,
    /// The table the error names, when it names one.
    pub table: Option<String>,
}
