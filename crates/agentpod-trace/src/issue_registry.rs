//! The issues the intake currently serves, by token. A token is valid from `register` until
//! `finish`; spans that arrive after that are refused rather than attached to a closed record.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::attribute_value::hex_encode;
use crate::intake_record::{ExportRecord, IssueTraceRecord};
use crate::span::Span;

#[derive(Debug, Default)]
pub(crate) struct IssueRegistry {
    issues: Mutex<HashMap<String, IssueTraceRecord>>,
}

/// How many spans of one request were kept and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    pub(crate) accepted: usize,
    pub(crate) dropped: usize,
}

impl IssueRegistry {
    /// Registers an issue under a fresh random token and returns the token.
    pub(crate) fn register(&self, issue_id: &str) -> String {
        let token = format!("tr_{}", hex_encode(&rand::random::<[u8; 16]>()));
        let record = IssueTraceRecord {
            issue_id: issue_id.to_owned(),
            ..IssueTraceRecord::default()
        };
        self.lock().insert(token.clone(), record);
        token
    }

    pub(crate) fn contains(&self, token: &str) -> bool {
        self.lock().contains_key(token)
    }

    /// Revokes the token; `None` when it was never valid or already finished.
    pub(crate) fn finish(&self, token: &str) -> Option<IssueTraceRecord> {
        self.lock().remove(token)
    }

    /// Adds spans up to `max_spans`; `None` when the token is no longer valid (the issue finished
    /// while the request was being decoded).
    pub(crate) fn admit_spans(
        &self,
        token: &str,
        spans: Vec<Span>,
        max_spans: usize,
    ) -> Option<Admitted> {
        let mut issues = self.lock();
        let record = issues.get_mut(token)?;
        let room = max_spans.saturating_sub(record.spans.len());
        let offered = spans.len();
        record.spans.extend(spans.into_iter().take(room));
        let accepted = offered.min(room);
        let dropped = offered - accepted;
        record.dropped_spans += dropped as u64;
        Some(Admitted { accepted, dropped })
    }

    /// Appends an export line; returns false when the token is no longer valid.
    pub(crate) fn record_export(&self, token: &str, export: ExportRecord) -> bool {
        match self.lock().get_mut(token) {
            Some(record) => {
                record.exports.push(export);
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, IssueTraceRecord>> {
        // A panic while holding the lock leaves plain data behind, still worth serving.
        self.issues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{SpanKind, SpanStatus};

    fn span(name: &str) -> Span {
        Span {
            trace_id: "00".repeat(16),
            span_id: "00".repeat(8),
            parent_span_id: None,
            name: name.to_owned(),
            kind: SpanKind::Internal,
            start: String::new(),
            end: String::new(),
            duration_ms: 0.0,
            attributes: serde_json::Map::new(),
            events: Vec::new(),
            status: SpanStatus::unset(),
            resource_attributes: serde_json::Map::new(),
            scope: None,
            truncated_attributes: Default::default(),
        }
    }

    #[test]
    fn tokens_are_distinct_and_scoped_to_their_issue() {
        let registry = IssueRegistry::default();
        let first = registry.register("issue-1");
        let second = registry.register("issue-2");
        assert_ne!(first, second);
        registry.admit_spans(&first, vec![span("a")], 10);
        let second_record = registry.finish(&second).unwrap();
        assert_eq!(second_record.issue_id, "issue-2");
        assert!(second_record.spans.is_empty());
        assert_eq!(registry.finish(&first).unwrap().spans.len(), 1);
    }

    #[test]
    fn a_finished_token_is_revoked() {
        let registry = IssueRegistry::default();
        let token = registry.register("issue-1");
        assert!(registry.finish(&token).is_some());
        assert!(!registry.contains(&token));
        assert_eq!(registry.admit_spans(&token, vec![span("late")], 10), None);
        assert!(registry.finish(&token).is_none());
    }

    #[test]
    fn spans_over_the_cap_are_counted_as_dropped() {
        let registry = IssueRegistry::default();
        let token = registry.register("issue-1");
        let admitted = registry.admit_spans(&token, vec![span("a"), span("b"), span("c")], 2);
        assert_eq!(
            admitted,
            Some(Admitted {
                accepted: 2,
                dropped: 1
            })
        );
        let record = registry.finish(&token).unwrap();
        assert_eq!(record.spans.len(), 2);
        assert_eq!(record.dropped_spans, 1);
    }
}
