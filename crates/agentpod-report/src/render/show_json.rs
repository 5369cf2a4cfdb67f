//! `ShowJson`: the document `agentpod show RUN --json` prints, written as it goes — the head,
//! then each outcome as the store reads it, then the run and its summary — so a run of 30,000
//! issue trials (tens of megabytes of JSON) is never held whole, as a `serde_json::Value` or as
//! text.
//!
//! The bytes are those of the document as it was built whole before: the pretty-printed object
//! `{"boundary", "boundary_events", "outcomes", "run", "summary"}` with every object's keys in
//! alphabetical order (serde_json's `Value` sorts them), so each record becomes a `Value` on its
//! own and is pretty-printed at its depth: serde_json's pretty printer writes a nested value as
//! it writes it alone with each further line indented (a newline inside a string is escaped, so
//! every line break is the printer's).

use std::io::Write;

use agentpod_store::{BoundaryEventRecord, OutcomeRecord, RunRecord};
use serde::Serialize;

use crate::figures::RunSummary;

/// Writes the document in order: [`ShowJson::begin`], [`ShowJson::outcome`] for each outcome,
/// [`ShowJson::end`].
pub struct ShowJson<W: Write> {
    writer: std::io::BufWriter<W>,
    outcomes: usize,
    /// One record's pretty text, reused.
    scratch: Vec<u8>,
}

impl<W: Write> ShowJson<W> {
    /// The run's boundary and boundary events, and the opening of the outcomes.
    pub fn begin(
        writer: W,
        boundary: Option<&serde_json::Value>,
        boundary_events: &[BoundaryEventRecord],
    ) -> std::io::Result<Self> {
        let mut show = Self {
            writer: std::io::BufWriter::with_capacity(64 * 1024, writer),
            outcomes: 0,
            scratch: Vec::new(),
        };
        show.writer.write_all(b"{\n  \"boundary\": ")?;
        show.value(&boundary, 1)?;
        show.writer.write_all(b",\n  \"boundary_events\": ")?;
        if boundary_events.is_empty() {
            show.writer.write_all(b"[]")?;
        } else {
            show.writer.write_all(b"[")?;
            for (index, event) in boundary_events.iter().enumerate() {
                show.writer
                    .write_all(if index == 0 { b"\n    " } else { b",\n    " })?;
                show.value(event, 2)?;
            }
            show.writer.write_all(b"\n  ]")?;
        }
        show.writer.write_all(b",\n  \"outcomes\": [")?;
        Ok(show)
    }

    pub fn outcome(&mut self, outcome: &OutcomeRecord) -> std::io::Result<()> {
        self.writer.write_all(if self.outcomes == 0 {
            b"\n    "
        } else {
            b",\n    "
        })?;
        self.outcomes += 1;
        self.value(outcome, 2)
    }

    /// The run and its summary, and the end of the document (with a newline).
    pub fn end(mut self, run: &RunRecord, summary: &RunSummary) -> std::io::Result<()> {
        self.writer
            .write_all(if self.outcomes == 0 { b"]" } else { b"\n  ]" })?;
        self.writer.write_all(b",\n  \"run\": ")?;
        self.value(run, 1)?;
        self.writer.write_all(b",\n  \"summary\": ")?;
        self.value(summary, 1)?;
        self.writer.write_all(b"\n}\n")?;
        self.writer.flush()
    }

    /// `record` as a `Value` (keys sorted), pretty-printed `depth` levels in.
    fn value(&mut self, record: &impl Serialize, depth: usize) -> std::io::Result<()> {
        let value = serde_json::to_value(record)?;
        self.scratch.clear();
        serde_json::to_writer_pretty(&mut self.scratch, &value)?;
        let indent = &b"        "[..2 * depth];
        for (index, line) in self.scratch.split(|byte| *byte == b'\n').enumerate() {
            if index > 0 {
                self.writer.write_all(b"\n")?;
                self.writer.write_all(indent)?;
            }
            self.writer.write_all(line)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentpod_store::{BoundaryDetail, IssueUsage, OutcomeStatus, RunStatus, ViolationDetail};
    use chrono::TimeZone;
    use serde_json::json;

    fn outcome(issue_id: &str, trial: u32) -> OutcomeRecord {
        OutcomeRecord {
            run_id: "r".into(),
            issue_id: issue_id.into(),
            trial,
            pod_index: 0,
            status: OutcomeStatus::Failed,
            reason: "line one\nline two \"quoted\"".into(),
            exit: json!({"code": 0, "nested": {"b": [1, {"z": null, "a": []}], "a": {}}}),
            started_at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
                .unwrap(),
            duration_ms: 1250,
            output: Some(json!({"answer": "4\n2"})),
            grade: json!({"checks": [], "passed": false}),
            stdout: "out\n".into(),
            stdout_bytes: 4,
            stdout_truncated: false,
            stderr: String::new(),
            stderr_bytes: 0,
            stderr_truncated: false,
            usage: IssueUsage::default(),
            own_time: agentpod_store::OwnTime {
                prepare_ms: 1.5,
                events_ms: 0.25,
                grade_ms: 3.0,
            },
        }
    }

    fn written(
        run: &RunRecord,
        boundary: Option<&serde_json::Value>,
        outcomes: &[OutcomeRecord],
        events: &[BoundaryEventRecord],
    ) -> String {
        let summary = crate::summarize(run, outcomes, events);
        let mut bytes = Vec::new();
        let mut show = ShowJson::begin(&mut bytes, boundary, events).unwrap();
        for outcome in outcomes {
            show.outcome(outcome).unwrap();
        }
        show.end(run, &summary).unwrap();
        let whole = serde_json::to_string_pretty(&json!({
            "run": run,
            "summary": summary,
            "boundary": boundary,
            "outcomes": outcomes,
            "boundary_events": events,
        }))
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text, format!("{whole}\n"));
        text
    }

    #[test]
    fn writes_the_bytes_of_the_whole_document() {
        let started_at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .unwrap();
        let run = RunRecord {
            id: "r".into(),
            spec_name: "s".into(),
            spec_path: "p.yaml".into(),
            agent_version: "v".into(),
            runtime: "docker".into(),
            pods: 2,
            seed: 3,
            issue_count: 2,
            trials: 2,
            status: RunStatus::Finished,
            started_at,
            finished_at: None,
            summary: Some(json!({"b": 1, "a": [2]})),
            unprotected: false,
            evaluation_set: None,
            sharding: None,
        };
        let events = [BoundaryEventRecord {
            issue_id: "a".into(),
            trial: 1,
            detail: BoundaryDetail::Violation(ViolationDetail {
                error: "permission denied".into(),
                ..ViolationDetail::default()
            }),
        }];
        let outcomes = [outcome("a", 1), outcome("a", 2), outcome("b", 1)];
        written(
            &run,
            Some(&json!({"tables": {"x": "read_only"}})),
            &outcomes,
            &events,
        );
        // Empty lists and no boundary.
        written(&run, None, &[], &[]);
    }
}
