//! Splits a byte stream into server-sent events, keeping each event's raw bytes so it can be
//! passed on untouched.

use bytes::{Bytes, BytesMut};

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The event exactly as received, blank-line terminator included.
    pub(crate) raw: Bytes,
    pub(crate) event: Option<String>,
    pub(crate) data: String,
}

#[derive(Default)]
pub(crate) struct SseParser {
    buffer: BytesMut,
}

impl SseParser {
    /// Feeds bytes; returns every event they complete.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.buffer) {
            let raw = self.buffer.split_to(end).freeze();
            events.push(parse_event(raw));
        }
        events
    }

    /// Whatever is left when the stream ends: an unterminated last event, if any.
    pub(crate) fn finish(&mut self) -> Option<SseEvent> {
        if self.buffer.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(parse_event(self.buffer.split().freeze()))
    }
}

/// The end (exclusive) of the first complete event in `buffer`.
fn event_end(buffer: &[u8]) -> Option<usize> {
    let mut index = 0;
    while index < buffer.len() {
        if buffer[index] == b'\n' {
            match buffer.get(index + 1) {
                Some(b'\n') => return Some(index + 2),
                Some(b'\r') if buffer.get(index + 2) == Some(&b'\n') => return Some(index + 3),
                _ => {}
            }
        }
        index += 1;
    }
    None
}

fn parse_event(raw: Bytes) -> SseEvent {
    let text = String::from_utf8_lossy(&raw);
    let mut event = None;
    let mut data_lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => data_lines.push(value),
            _ => {}
        }
    }
    let data = data_lines.join("\n");
    SseEvent { raw, event, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_reassembled_with_raw_bytes() {
        let mut parser = SseParser::default();
        assert!(
            parser
                .push(b"event: message_start\ndata: {\"a\"")
                .is_empty()
        );
        let events = parser.push(b":1}\n\ndata: [DONE]\n\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event.as_deref(), Some("message_start"));
        assert_eq!(events[0].data, "{\"a\":1}");
        assert_eq!(
            &events[0].raw[..],
            b"event: message_start\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(events[1].data, "[DONE]");
        assert_eq!(parser.finish(), None);
    }

    #[test]
    fn crlf_events_and_partial_tails() {
        let mut parser = SseParser::default();
        let events = parser.push(b"data: x\r\n\r\ndata: y");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, "x");
        assert_eq!(
            parser.finish().map(|event| event.data),
            Some("y".to_owned())
        );
    }
}
