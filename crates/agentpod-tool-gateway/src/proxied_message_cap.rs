//! The cap on one message from a proxied MCP server, applied while it is read (by the stdio
//! line reader and the HTTP client), so a server answering with hundreds of MiB never has more
//! than the cap of it in the gateway's memory. A message cut at the cap is replaced by a
//! stand-in answer to the same request: an error result with a note, marked in its `_meta` so
//! the gateway records the call as cut.

use rmcp::model::CallToolResult;
use serde_json::{Value, json};

use crate::result_cap::{RESULT_CAP_BYTES, truncation_note};

/// The most bytes of one message read from a proxied server. Four times the result cap: a
/// result at the cap arrives with its text escaped inside JSON, and servers built with the
/// official SDKs send it twice (as text and as structured content), so a result that can still
/// be cut to fit reaches the result cap whole; past this, nothing of it is kept.
pub(crate) const PROXIED_MESSAGE_CAP_BYTES: usize = 4 * RESULT_CAP_BYTES;

/// The `_meta` key that marks a stand-in answer.
const CUT_MARKER: &str = "agentpod/cut_while_read";

/// How much of a message's start is kept to find its id when the message turns out too long.
pub(crate) const ID_SEARCH_BYTES: usize = 1024;

/// The stand-in for a message to request `id` that was cut at the cap while being read.
pub(crate) fn stand_in_answer(id: Value) -> Value {
    let note = truncation_note(
        None,
        &format!(
            "the tool's answer passed {PROXIED_MESSAGE_CAP_BYTES} bytes and was cut off while being \
             read, so none of it can be shown; ask for less (narrower arguments, fewer items)"
        ),
    );
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "content": [{ "type": "text", "text": note }],
            "isError": true,
            "_meta": { CUT_MARKER: PROXIED_MESSAGE_CAP_BYTES },
        },
    })
}

/// Whether `result` is a stand-in answer; the marker is taken out so the agent sees only the
/// note.
pub(crate) fn take_cut_marker(result: &mut CallToolResult) -> bool {
    let Some(meta) = result.meta.as_mut() else {
        return false;
    };
    let marked = meta.remove(CUT_MARKER).is_some();
    if meta.is_empty() {
        result.meta = None;
    }
    marked
}

/// The `id` of a JSON-RPC message from the start of its text, if the start holds it: the
/// official SDKs write `jsonrpc` and `id` before the result. Keys are read at the top level
/// only, values before `id` skipped without being parsed.
pub(crate) fn top_level_id(start: &[u8]) -> Option<Value> {
    let mut scanner = Scanner {
        text: start,
        position: 0,
    };
    scanner.skip_space();
    scanner.expect(b'{')?;
    loop {
        scanner.skip_space();
        let key_start = scanner.position;
        scanner.skip_string()?;
        let key = &start[key_start..scanner.position];
        scanner.skip_space();
        scanner.expect(b':')?;
        scanner.skip_space();
        let value_start = scanner.position;
        scanner.skip_value()?;
        if key == b"\"id\"" {
            let id: Value = serde_json::from_slice(&start[value_start..scanner.position]).ok()?;
            return matches!(id, Value::String(_) | Value::Number(_)).then_some(id);
        }
        scanner.skip_space();
        match scanner.next()? {
            b',' => continue,
            _ => return None,
        }
    }
}

/// A cursor over JSON text that may stop anywhere: every step is `None` at the end.
struct Scanner<'a> {
    text: &'a [u8],
    position: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.position).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.position += 1;
        Some(byte)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_whitespace()) {
            self.position += 1;
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.next()? {
                b'\\' => {
                    self.next()?;
                }
                b'"' => return Some(()),
                _ => {}
            }
        }
    }

    /// Skips one value: a string, a nested object or array, or a number or literal.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => self.skip_string()?,
                        b'{' | b'[' => {
                            depth += 1;
                            self.position += 1;
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            self.position += 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => self.position += 1,
                    }
                }
            }
            _ => {
                let start = self.position;
                while self.peek().is_some_and(|byte| {
                    !matches!(byte, b',' | b'}' | b']') && !byte.is_ascii_whitespace()
                }) {
                    self.position += 1;
                }
                // A number or literal running to the end may be cut short; it is not whole.
                if self.peek().is_none() || self.position == start {
                    return None;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_found_after_other_keys_and_before_a_cut_result() {
        assert_eq!(
            top_level_id(br#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"text":"aaa"#),
            Some(json!(7))
        );
        assert_eq!(
            top_level_id(br#" { "meta": {"id": 1, "x": ["}"]}, "id" : "call-\"2\"", "result"#),
            Some(json!("call-\"2\""))
        );
    }

    #[test]
    fn no_id_is_made_up_from_a_start_that_does_not_hold_one_whole() {
        assert_eq!(
            top_level_id(br#"{"jsonrpc":"2.0","result":{"content":"#),
            None
        );
        assert_eq!(top_level_id(br#"{"jsonrpc":"2.0","id":12"#), None);
        assert_eq!(top_level_id(br#"{"id":null,"result":1}"#), None);
        assert_eq!(top_level_id(b"not json"), None);
    }

    #[test]
    fn a_stand_in_answer_is_a_marked_error_result() {
        let answer = stand_in_answer(json!(3));
        let mut result: CallToolResult =
            serde_json::from_value(answer["result"].clone()).expect("a tool result");
        assert_eq!(result.is_error, Some(true));
        assert!(take_cut_marker(&mut result));
        assert_eq!(result.meta, None);
        assert!(!take_cut_marker(&mut result));
    }
}
