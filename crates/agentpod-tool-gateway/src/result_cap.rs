//! The cap on what one tool call hands the agent. Tools read their results as streams and stop
//! at [`RESULT_CAP_BYTES`] (the database tools row by row, proxied servers byte by byte); what
//! reaches the handler is then held to the same cap once more, whatever tool it came from, so no
//! result the agent receives, nor the gateway's copy of it, grows past it. A cut result keeps
//! what fits and says so in a note the agent can read: `"truncated": true`.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

/// The most bytes of result text one tool call returns. 1 MiB: a few thousand rows of ordinary
/// width, some 250k tokens, more than a model can use in one turn; and with the connection cap,
/// a pod's gateway holds at most a few tens of MiB of results at once.
pub(crate) const RESULT_CAP_BYTES: usize = 1024 * 1024;

/// Room kept under the cap for the envelope and note around what was kept, so a cut result
/// with its note still fits the cap.
pub(crate) const NOTE_RESERVE_BYTES: usize = 1024;

/// A tool's JSON result, and whether the byte cap cut it (the value then says so itself).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CappedValue {
    pub(crate) value: Value,
    pub(crate) capped: bool,
}

impl CappedValue {
    pub(crate) fn whole(value: Value) -> CappedValue {
        CappedValue {
            value,
            capped: false,
        }
    }
}

/// Counts the bytes of JSON text without keeping them.
pub(crate) struct ByteCounter(pub(crate) usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.0 += buffer.len();
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes of `value` as compact JSON.
pub(crate) fn json_size(value: &impl serde::Serialize) -> usize {
    let mut counter = ByteCounter(0);
    // Writing to a counter cannot fail, and JSON values always serialize.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// `text` cut to at most `limit` bytes on a character boundary.
pub(crate) fn cut_at_boundary(text: &mut String, limit: usize) {
    if text.len() <= limit {
        return;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

/// The note a cut result ends with, as JSON text.
pub(crate) fn truncation_note(result_bytes: Option<usize>, note: &str) -> String {
    let mut fields = json!({
        "truncated": true,
        "cap_bytes": RESULT_CAP_BYTES,
        "note": note,
    });
    if let Some(result_bytes) = result_bytes {
        fields["result_bytes"] = json!(result_bytes);
    }
    fields.to_string()
}

/// The bytes a content block adds to the result the agent reads: a text block its text, any
/// other block its JSON.
fn block_size(block: &ContentBlock) -> usize {
    match block.as_text() {
        Some(text) => text.text.len(),
        None => json_size(block),
    }
}

/// Holds `result` to [`RESULT_CAP_BYTES`]: blocks are kept in order while they fit, the first
/// text block that does not is cut, other blocks that do not are left out, and a note block
/// saying so ends the result. Structured content of a cut result is left out too; the result
/// then counts as an error, because clients check structured content against the tool's output
/// schema on successful results only. Returns whether anything was cut.
pub(crate) fn cap_call_result(mut result: CallToolResult) -> (CallToolResult, bool) {
    let structured_bytes = result.structured_content.as_ref().map_or(0, json_size);
    let total: usize = result.content.iter().map(block_size).sum::<usize>() + structured_bytes;
    if total <= RESULT_CAP_BYTES {
        return (result, false);
    }
    let mut room = RESULT_CAP_BYTES - NOTE_RESERVE_BYTES;
    let mut kept = Vec::with_capacity(result.content.len() + 1);
    for block in std::mem::take(&mut result.content) {
        let size = block_size(&block);
        if size <= room {
            room -= size;
            kept.push(block);
            continue;
        }
        if let Some(text) = block.as_text()
            && room > 0
        {
            let mut cut = text.text.clone();
            cut_at_boundary(&mut cut, room);
            room -= cut.len();
            kept.push(ContentBlock::text(cut));
        }
    }
    let mut note = format!(
        "the result was {total} bytes, over the {RESULT_CAP_BYTES}-byte cap: only its first part is above"
    );
    if result.structured_content.take().is_some() {
        note.push_str("; its structured content was left out");
        result.is_error = Some(true);
    }
    note.push_str(". Ask for less (narrower arguments, fewer items) to see the rest");
    kept.push(ContentBlock::text(truncation_note(Some(total), &note)));
    result.content = kept;
    (result, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_text(result: &CallToolResult) -> String {
        crate::mcp_handler::result_text(&result.content)
    }

    #[test]
    fn a_result_under_the_cap_is_kept_whole() {
        let result = CallToolResult::success(vec![ContentBlock::text("small")]);
        let (capped, cut) = cap_call_result(result.clone());
        assert!(!cut);
        assert_eq!(capped, result);
    }

    #[test]
    fn a_long_text_is_cut_and_ends_with_a_note() {
        let text = "é".repeat(RESULT_CAP_BYTES);
        let (capped, cut) = cap_call_result(CallToolResult::success(vec![ContentBlock::text(
            text.clone(),
        )]));
        assert!(cut);
        assert_eq!(capped.content.len(), 2);
        let kept = capped.content[0].as_text().map(|text| text.text.clone());
        assert!(kept.as_deref().is_some_and(|kept| text.starts_with(kept)));
        let note: Value = serde_json::from_str(
            &capped.content[1]
                .as_text()
                .map(|text| text.text.clone())
                .unwrap_or_default(),
        )
        .expect("the note is JSON");
        assert_eq!(note["truncated"], json!(true));
        assert_eq!(note["result_bytes"], json!(text.len()));
        assert!(result_text(&capped).len() <= RESULT_CAP_BYTES);
        assert_eq!(capped.is_error, Some(false));
    }

    #[test]
    fn structured_content_of_a_cut_result_is_left_out_and_the_result_is_an_error() {
        let text = "x".repeat(RESULT_CAP_BYTES);
        let mut result = CallToolResult::success(vec![ContentBlock::text(text.clone())]);
        result.structured_content = Some(json!({ "result": text }));
        let (capped, cut) = cap_call_result(result);
        assert!(cut);
        assert_eq!(capped.structured_content, None);
        assert_eq!(capped.is_error, Some(true));
        assert!(result_text(&capped).contains("structured content was left out"));
        assert!(result_text(&capped).len() <= RESULT_CAP_BYTES);
    }

    #[test]
    fn later_blocks_that_do_not_fit_are_left_out() {
        let blocks = vec![
            ContentBlock::text("a".repeat(RESULT_CAP_BYTES / 2)),
            ContentBlock::text("b".repeat(RESULT_CAP_BYTES / 2)),
            ContentBlock::text("c".repeat(10)),
        ];
        let (capped, cut) = cap_call_result(CallToolResult::success(blocks));
        assert!(cut);
        let text = result_text(&capped);
        assert!(text.starts_with(&"a".repeat(RESULT_CAP_BYTES / 2)));
        assert!(!text.contains(&"c".repeat(10)));
        assert_eq!(capped.content.len(), 3, "a, the cut b, and the note");
        assert!(text.len() <= RESULT_CAP_BYTES);
    }
}
