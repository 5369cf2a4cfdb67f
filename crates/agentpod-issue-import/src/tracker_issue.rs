//! One issue as read from a tracker's export, before its answer is split off.

use serde_json::{Map, Value};

use crate::Provenance;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackerIssue {
    /// The id the issues file gives it: GitHub's number, Jira's key, the ticket's id.
    pub id: String,
    /// The issue's fields under agentpod's names (see each tracker's `FIELDS`).
    pub fields: Map<String, Value>,
    pub provenance: Provenance,
}

/// A text field of an export, where null (GitHub's empty body, Zendesk's unset priority) is the
/// empty string: every issue of an import has the same fields, of the same kind.
pub(crate) fn text_or_empty(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(text)) => Value::String(text.clone()),
        Some(Value::Null) | None => Value::String(String::new()),
        Some(other) => Value::String(other.to_string()),
    }
}

/// A list of strings from an export's list (non-strings as their JSON text, nulls dropped).
pub(crate) fn string_list(value: Option<&Value>) -> Value {
    let items = match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter(|item| !item.is_null())
            .map(|item| match item {
                Value::String(text) => Value::String(text.clone()),
                other => Value::String(other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    };
    Value::Array(items)
}

/// An id as text: a JSON integer or a non-empty string.
pub(crate) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(number) if number.is_u64() || number.is_i64() => Some(number.to_string()),
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        _ => None,
    }
}
