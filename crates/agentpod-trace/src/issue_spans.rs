//! What each issue the intake currently serves has sent: its record, kept by token in the kit's
//! `IssueRegistry`. A token is valid from `register` until `finish`; spans that arrive after that
//! are refused rather than attached to a closed record.

use std::sync::{Mutex, MutexGuard, PoisonError};

use agentpod_gateway_http::{IssueRegistry, IssueToken};

use crate::intake_record::{ExportRecord, IssueTraceRecord, SpanCap};
use crate::span_decoder::{DecodedSpans, SpanRoom};

/// Export requests listed per issue; later ones are only counted. 1024: an agent's SDK exports
/// a batch every few seconds, so an honest issue lists every export, while a flood of refused
/// requests cannot grow the record without bound.
pub(crate) const MAX_LISTED_EXPORTS_PER_ISSUE: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct IssueSpans {
    issues: IssueRegistry<LiveRecord>,
}

/// An issue's record while its token is valid; `finish` takes it out, so a request that found
/// the issue just before can tell it finished meanwhile.
type LiveRecord = Mutex<Option<IssueTraceRecord>>;

/// The per-issue caps the registry holds spans to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IssueCaps {
    pub(crate) max_spans: usize,
    pub(crate) max_span_bytes: usize,
}

/// How many spans of one request were kept and dropped, and the cap that dropped them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    pub(crate) accepted: usize,
    pub(crate) dropped: usize,
    pub(crate) cap: Option<SpanCap>,
}

/// Whether an issue can take more spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssueRoom {
    Open(SpanRoom),
    /// A cap stopped the issue's spans; nothing more is kept.
    Full(SpanCap),
}

impl IssueSpans {
    /// Registers an issue under a fresh random token and returns the token.
    pub(crate) fn register(&self, issue_id: &str) -> IssueToken {
        let record = IssueTraceRecord {
            issue_id: issue_id.to_owned(),
            ..IssueTraceRecord::default()
        };
        self.issues.register(Mutex::new(Some(record)))
    }

    pub(crate) fn contains(&self, token: &str) -> bool {
        self.issues.get(token).is_some()
    }

    /// Revokes the token; `None` when it was never valid or already finished.
    pub(crate) fn finish(&self, token: &str) -> Option<IssueTraceRecord> {
        let issue = self.issues.revoke(token)?;
        lock(&issue).take()
    }

    /// What the issue can still take; `None` when the token is no longer valid.
    pub(crate) fn room(&self, token: &str, caps: IssueCaps) -> Option<IssueRoom> {
        self.with_record(token, |record| match record.cap_reached {
            Some(cap) => IssueRoom::Full(cap),
            None => IssueRoom::Open(SpanRoom {
                spans: caps.max_spans.saturating_sub(record.spans.len()),
                bytes: caps
                    .max_span_bytes
                    .saturating_sub(usize::try_from(record.span_bytes).unwrap_or(usize::MAX)),
            }),
        })
    }

    /// Adds the decoded spans in order while they fit the caps; the first that does not, and
    /// every span after it, is dropped and the cap is recorded as reached. Checked again here,
    /// under the issue's lock, because requests of one issue may be decoded at the same time.
    /// `None` when the token is no longer valid (the issue finished while the request was
    /// decoded).
    pub(crate) fn admit_spans(
        &self,
        token: &str,
        decoded: DecodedSpans,
        caps: IssueCaps,
    ) -> Option<Admitted> {
        self.with_record(token, |record| admit(record, decoded, caps))
    }

    /// Appends an export line, or only counts it past `MAX_LISTED_EXPORTS_PER_ISSUE`; returns
    /// false when the token is no longer valid.
    pub(crate) fn record_export(&self, token: &str, export: ExportRecord) -> bool {
        self.with_record(token, |record| {
            if record.exports.len() < MAX_LISTED_EXPORTS_PER_ISSUE {
                record.exports.push(export);
            } else {
                record.unlisted_exports += 1;
            }
        })
        .is_some()
    }

    /// Runs `change` on the issue's record under its lock; `None` when the token is no longer
    /// valid.
    fn with_record<R>(
        &self,
        token: &str,
        change: impl FnOnce(&mut IssueTraceRecord) -> R,
    ) -> Option<R> {
        let issue = self.issues.get(token)?;
        let mut record = lock(&issue);
        record.as_mut().map(change)
    }
}

fn admit(record: &mut IssueTraceRecord, decoded: DecodedSpans, caps: IssueCaps) -> Admitted {
    let mut accepted = 0;
    let mut cap = record.cap_reached;
    if cap.is_none() {
        for sized in decoded.spans {
            let bytes_after = record
                .span_bytes
                .saturating_add(u64::try_from(sized.stored_bytes).unwrap_or(u64::MAX));
            if record.spans.len() >= caps.max_spans {
                cap = Some(SpanCap::Spans);
                break;
            }
            if bytes_after > u64::try_from(caps.max_span_bytes).unwrap_or(u64::MAX) {
                cap = Some(SpanCap::Bytes);
                break;
            }
            record.span_bytes = bytes_after;
            record.spans.push(sized.span);
            accepted += 1;
        }
    }
    let dropped = decoded.offered.saturating_sub(accepted);
    if dropped > 0 && cap.is_none() {
        // The decoder stopped at the room it was given: the cap it stopped at is the one the
        // issue has now run into.
        cap = Some(if record.spans.len() >= caps.max_spans {
            SpanCap::Spans
        } else {
            SpanCap::Bytes
        });
    }
    if dropped > 0 {
        record.cap_reached = cap;
    }
    record.dropped_spans += dropped as u64;
    Admitted {
        accepted,
        dropped,
        cap: if dropped > 0 { cap } else { None },
    }
}

fn lock(record: &LiveRecord) -> MutexGuard<'_, Option<IssueTraceRecord>> {
    // A panic while holding the lock leaves plain data behind, still worth serving.
    record.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span_decoder::SizedSpan;
    use agentpod_store::{Span, SpanKind, SpanStatus};

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

    /// Spans named after `names`, each counted as `stored_bytes` bytes.
    fn decoded(names: &[&str], stored_bytes: usize) -> DecodedSpans {
        DecodedSpans {
            spans: names
                .iter()
                .map(|name| SizedSpan {
                    span: span(name),
                    stored_bytes,
                })
                .collect(),
            offered: names.len(),
        }
    }

    fn caps(max_spans: usize, max_span_bytes: usize) -> IssueCaps {
        IssueCaps {
            max_spans,
            max_span_bytes,
        }
    }

    #[test]
    fn tokens_are_distinct_and_scoped_to_their_issue() {
        let registry = IssueSpans::default();
        let first = registry.register("issue-1");
        let second = registry.register("issue-2");
        assert_ne!(first, second);
        registry.admit_spans(&first, decoded(&["a"], 1), caps(10, 100));
        let second_record = registry.finish(&second).unwrap();
        assert_eq!(second_record.issue_id, "issue-2");
        assert!(second_record.spans.is_empty());
        assert_eq!(registry.finish(&first).unwrap().spans.len(), 1);
    }

    #[test]
    fn a_finished_token_is_revoked() {
        let registry = IssueSpans::default();
        let token = registry.register("issue-1");
        assert!(registry.finish(&token).is_some());
        assert!(!registry.contains(&token));
        assert_eq!(
            registry.admit_spans(&token, decoded(&["late"], 1), caps(10, 100)),
            None
        );
        assert_eq!(registry.room(&token, caps(10, 100)), None);
        assert!(registry.finish(&token).is_none());
    }

    #[test]
    fn spans_over_the_count_cap_are_counted_as_dropped() {
        let registry = IssueSpans::default();
        let token = registry.register("issue-1");
        let admitted = registry.admit_spans(&token, decoded(&["a", "b", "c"], 1), caps(2, 100));
        assert_eq!(
            admitted,
            Some(Admitted {
                accepted: 2,
                dropped: 1,
                cap: Some(SpanCap::Spans),
            })
        );
        assert_eq!(
            registry.room(&token, caps(2, 100)),
            Some(IssueRoom::Full(SpanCap::Spans))
        );
        let record = registry.finish(&token).unwrap();
        assert_eq!(record.spans.len(), 2);
        assert_eq!(record.dropped_spans, 1);
        assert_eq!(record.cap_reached, Some(SpanCap::Spans));
    }

    #[test]
    fn spans_stop_at_the_byte_cap_and_the_issue_stays_full() {
        let registry = IssueSpans::default();
        let token = registry.register("issue-1");
        let limits = caps(100, 250);
        assert_eq!(
            registry.room(&token, limits),
            Some(IssueRoom::Open(SpanRoom {
                spans: 100,
                bytes: 250
            }))
        );
        let first = registry.admit_spans(&token, decoded(&["a", "b"], 100), limits);
        assert_eq!(first.map(|admitted| admitted.dropped), Some(0));
        assert_eq!(
            registry.room(&token, limits),
            Some(IssueRoom::Open(SpanRoom {
                spans: 98,
                bytes: 50
            }))
        );
        let second = registry.admit_spans(&token, decoded(&["c", "d"], 100), limits);
        assert_eq!(
            second,
            Some(Admitted {
                accepted: 0,
                dropped: 2,
                cap: Some(SpanCap::Bytes),
            })
        );
        // Even a span that would fit what is left is refused once the cap was reached.
        let third = registry.admit_spans(&token, decoded(&["e"], 10), limits);
        assert_eq!(third.map(|admitted| admitted.accepted), Some(0));
        let record = registry.finish(&token).unwrap();
        assert_eq!(record.span_bytes, 200);
        assert_eq!(record.spans.len(), 2);
        assert_eq!(record.dropped_spans, 3);
        assert_eq!(record.cap_reached, Some(SpanCap::Bytes));
    }

    #[test]
    fn spans_the_decoder_left_out_reach_the_cap_too() {
        let registry = IssueSpans::default();
        let token = registry.register("issue-1");
        let mut request = decoded(&["a"], 10);
        request.offered = 4;
        let admitted = registry.admit_spans(&token, request, caps(100, 15));
        assert_eq!(
            admitted,
            Some(Admitted {
                accepted: 1,
                dropped: 3,
                cap: Some(SpanCap::Bytes),
            })
        );
    }

    #[test]
    fn exports_past_the_listed_most_are_only_counted() {
        let registry = IssueSpans::default();
        let token = registry.register("issue-1");
        let export = ExportRecord {
            started_at: String::new(),
            latency_ms: 0.0,
            encoding: crate::intake_record::PayloadEncoding::Json,
            gzip: false,
            body_bytes: 0,
            spans_accepted: 0,
            spans_dropped: 0,
            status: 413,
            outcome: crate::intake_record::ExportOutcome::Rejected,
            error: None,
        };
        for _ in 0..MAX_LISTED_EXPORTS_PER_ISSUE + 3 {
            assert!(registry.record_export(&token, export.clone()));
        }
        let record = registry.finish(&token).unwrap();
        assert_eq!(record.exports.len(), MAX_LISTED_EXPORTS_PER_ISSUE);
        assert_eq!(record.unlisted_exports, 3);
    }
}
