//! The tool gateway driven by the official MCP Python SDK (and raw HTTP for bad input), against a
//! real Postgres started from the host's binaries.

mod caps;
mod connections;
mod in_process_calls;
mod limits;
mod parallel;
mod protocol;
mod read_side_effects;
mod sessions;
mod slow;
mod statements;
mod support;

use agentpod_tool_gateway::{IssueToolRecord, ToolCallOutcome};
use serde_json::Value;

/// Every call the client made is recorded once, in order, with the arguments it sent and the
/// result it saw.
fn assert_record_matches_client(record: &IssueToolRecord, seen: &Value, issue_id: &str) {
    let calls = seen["calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        record.calls.len(),
        calls.len(),
        "recorded {:#?}\nseen {seen:#}",
        record.calls
    );
    for (position, (recorded, seen)) in record.calls.iter().zip(&calls).enumerate() {
        assert_eq!(recorded.sequence as usize, position);
        assert_eq!(recorded.issue_id, issue_id);
        assert_eq!(recorded.tool, seen["tool"].as_str().unwrap_or_default());
        assert_eq!(recorded.arguments, seen["arguments"]);
        match seen["text"].as_str() {
            Some(text) => {
                assert_eq!(recorded.result, text, "call {position} ({})", recorded.tool);
                assert_eq!(Some(recorded.is_error), seen["is_error"].as_bool());
                assert!(!recorded.result_truncated);
                assert!(!recorded.result_capped);
                assert_eq!(recorded.result_bytes, text.len());
            }
            None => {
                assert_eq!(recorded.outcome, ToolCallOutcome::UnknownTool, "{seen}");
                assert!(recorded.is_error);
            }
        }
        assert!(recorded.latency_ms > 0.0);
        assert!(chrono::DateTime::parse_from_rfc3339(&recorded.started_at).is_ok());
    }
}
