//! A proxied stdio server's output, held to [`PROXIED_MESSAGE_CAP_BYTES`] per line (one line is
//! one MCP message). rmcp reads lines whole, however long; this reader sits in front of it and,
//! at the cap, ends the line (rmcp skips the unreadable start), throws the rest of it away as it
//! arrives, and puts a stand-in answer to the same request in its place.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::proxied_message_cap::{
    ID_SEARCH_BYTES, PROXIED_MESSAGE_CAP_BYTES, stand_in_answer, top_level_id,
};

/// How much is read from the server at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

pub(crate) struct CappedLines<R> {
    inner: R,
    cap: usize,
    /// Bytes of the current line passed on so far.
    line_bytes: usize,
    /// The current line's start, to find its id if it turns out too long.
    line_start: Vec<u8>,
    /// Throwing away the rest of a line that passed the cap.
    discarding: bool,
    /// Bytes ready for the reader.
    ready: VecDeque<u8>,
    chunk: Vec<u8>,
}

impl<R> CappedLines<R> {
    pub(crate) fn new(inner: R) -> CappedLines<R> {
        CappedLines::with_cap(inner, PROXIED_MESSAGE_CAP_BYTES)
    }

    fn with_cap(inner: R, cap: usize) -> CappedLines<R> {
        CappedLines {
            inner,
            cap,
            line_bytes: 0,
            line_start: Vec::new(),
            discarding: false,
            ready: VecDeque::new(),
            chunk: vec![0; READ_CHUNK_BYTES],
        }
    }

    fn remember_start(&mut self, bytes: &[u8]) {
        let room = ID_SEARCH_BYTES.saturating_sub(self.line_start.len());
        self.line_start
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    fn end_line(&mut self) {
        self.line_bytes = 0;
        self.line_start.clear();
    }

    /// Moves what the server sent into `ready`, cutting lines at the cap.
    fn take_in(&mut self, mut rest: &[u8]) {
        while !rest.is_empty() {
            let newline = rest.iter().position(|byte| *byte == b'\n');
            if self.discarding {
                match newline {
                    Some(position) => {
                        self.discarding = false;
                        self.end_line();
                        rest = &rest[position + 1..];
                    }
                    None => rest = &[],
                }
                continue;
            }
            let content = newline.unwrap_or(rest.len());
            let room = self.cap - self.line_bytes;
            if content <= room {
                let through = newline.map_or(rest.len(), |position| position + 1);
                self.remember_start(&rest[..content]);
                self.ready.extend(&rest[..through]);
                if newline.is_some() {
                    self.end_line();
                } else {
                    self.line_bytes += content;
                }
                rest = &rest[through..];
                continue;
            }
            // The line passes the cap: what was passed on is ended here as a line of its own,
            // and the stand-in follows when the start names the request.
            self.remember_start(&rest[..room]);
            self.ready.extend(&rest[..room]);
            self.ready.push_back(b'\n');
            if let Some(id) = top_level_id(&self.line_start) {
                self.ready
                    .extend(stand_in_answer(id).to_string().as_bytes());
                self.ready.push_back(b'\n');
            } else {
                tracing::warn!(
                    "a proxied server sent a message over {} bytes without an id near its start; it was dropped",
                    self.cap
                );
            }
            self.discarding = true;
            rest = &rest[room..];
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for CappedLines<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.ready.is_empty() {
                let count = this.ready.len().min(buffer.remaining());
                let (front, back) = this.ready.as_slices();
                let from_front = count.min(front.len());
                buffer.put_slice(&front[..from_front]);
                buffer.put_slice(&back[..count - from_front]);
                this.ready.drain(..count);
                return Poll::Ready(Ok(()));
            }
            let mut chunk = std::mem::take(&mut this.chunk);
            let mut chunk_buffer = ReadBuf::new(&mut chunk);
            let polled = Pin::new(&mut this.inner).poll_read(context, &mut chunk_buffer);
            let filled = chunk_buffer.filled().len();
            let outcome = match polled {
                Poll::Ready(Ok(())) if filled == 0 => Some(Poll::Ready(Ok(()))),
                Poll::Ready(Ok(())) => {
                    this.take_in(&chunk[..filled]);
                    None
                }
                other => Some(other),
            };
            this.chunk = chunk;
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use tokio::io::AsyncReadExt;

    async fn read_all(input: Vec<u8>, cap: usize) -> Vec<String> {
        let mut reader = CappedLines::with_cap(&input[..], cap);
        let mut output = Vec::new();
        reader
            .read_to_end(&mut output)
            .await
            .expect("reading from memory");
        String::from_utf8_lossy(&output)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[tokio::test]
    async fn lines_under_the_cap_pass_unchanged() {
        let input = b"{\"id\":1}\n{\"id\":2}\n".to_vec();
        assert_eq!(read_all(input, 64).await, vec!["{\"id\":1}", "{\"id\":2}"]);
    }

    #[tokio::test]
    async fn a_line_over_the_cap_is_ended_and_followed_by_a_stand_in() {
        let long = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{{\"text\":\"{}\"}}}}\n",
            "x".repeat(500)
        );
        let input = [long.as_bytes(), b"{\"id\":6}\n"].concat();
        let lines = read_all(input, 100).await;
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].len(), 100);
        let stand_in: Value = serde_json::from_str(&lines[1]).expect("a JSON line");
        assert_eq!(stand_in["id"], json!(5));
        assert_eq!(stand_in["result"]["isError"], json!(true));
        assert_eq!(lines[2], "{\"id\":6}");
    }

    #[tokio::test]
    async fn a_long_line_without_an_id_is_dropped() {
        let input = format!("{{\"result\":\"{}\"}}\n{{\"id\":6}}\n", "y".repeat(300));
        let lines = read_all(input.into_bytes(), 50).await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[1], "{\"id\":6}");
    }
}
