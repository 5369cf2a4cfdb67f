//! The tool gateway's own reading of a request (rmcp's JSON-RPC parsing is rmcp's): the token in
//! the path, the JSON-RPC check with its error codes, and a tool call's arguments as recorded
//! (capped, with their true size) and as the database tools read their `sql`.
#![no_main]

use agentpod_tool_gateway::fuzzing::{RECORD_CAP, check_request, quote_identifier, token_of};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(token) = token_of(text) {
            assert_eq!(format!("/i/{token}/mcp"), text);
        }
        let quoted = quote_identifier(text);
        assert!(quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'));
        assert_eq!(quoted[1..quoted.len() - 1].replace("\"\"", "\""), text);
    }
    let checked = check_request(data);
    let is_json = serde_json::from_slice::<Value>(data).is_ok();
    if let Some((id, code, message)) = &checked.refusal {
        assert!(!message.is_empty());
        assert_eq!(
            *code,
            if is_json {
                INVALID_REQUEST
            } else {
                PARSE_ERROR
            }
        );
        if !is_json {
            assert_eq!(*id, Value::Null);
        }
    }
    if let Some((recorded, size)) = &checked.recorded_arguments {
        match recorded {
            Value::Object(_) => {
                assert!(*size <= RECORD_CAP);
                assert_eq!(serde_json::to_string(recorded).unwrap().len(), *size);
            }
            Value::String(cut) => {
                assert!(cut.len() <= RECORD_CAP && *size > RECORD_CAP);
            }
            other => panic!("arguments recorded as {other}"),
        }
    }
    if let Some(Ok(sql)) = &checked.sql {
        assert!(!sql.ends_with(';') && sql.trim() == sql, "{sql:?}");
    }
});
