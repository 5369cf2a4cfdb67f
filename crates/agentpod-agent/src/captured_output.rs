//! Capturing one of the agent's output streams: keep the head up to a limit, count the rest.

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

/// The head of one output stream of the agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CapturedOutput {
    /// The first bytes of the stream up to the limit, decoded as lossy UTF-8.
    pub text: String,
    /// Every byte the agent wrote to the stream, kept or not.
    pub total_bytes: u64,
    /// Whether bytes past the limit were discarded.
    pub truncated: bool,
}

const READ_CHUNK: usize = 64 * 1024;

/// A stream's head being collected chunk by chunk: the first `limit` bytes, and a count of all.
#[derive(Debug)]
pub(crate) struct OutputHead {
    kept: Vec<u8>,
    limit: usize,
    total_bytes: u64,
}

impl OutputHead {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            kept: Vec::with_capacity(limit.min(READ_CHUNK)),
            limit,
            total_bytes: 0,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.total_bytes += chunk.len() as u64;
        let room = self.limit.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    pub(crate) fn finish(self) -> CapturedOutput {
        let OutputHead {
            mut kept,
            total_bytes,
            ..
        } = self;
        let truncated = total_bytes > kept.len() as u64;
        if truncated {
            // The limit can fall inside a multi-byte character; a replacement character there
            // would only be noise at the cut.
            let complete = complete_prefix_length(&kept);
            kept.truncate(complete);
        }
        CapturedOutput {
            text: String::from_utf8_lossy(&kept).into_owned(),
            total_bytes,
            truncated,
        }
    }
}

/// Reads `stream` until end of file or until `stop` fires, keeping at most `limit` bytes.
///
/// The stream is read to its end even past the limit, so that an agent writing a lot never
/// blocks on a full pipe; `stop` exists because a process that escaped the agent's process group
/// can hold the pipe open forever.
pub(crate) async fn capture_stream<Stream>(
    mut stream: Stream,
    limit: usize,
    stop: CancellationToken,
) -> CapturedOutput
where
    Stream: AsyncRead + Unpin,
{
    let mut head = OutputHead::new(limit);
    let mut chunk = vec![0_u8; READ_CHUNK];
    loop {
        let read = tokio::select! {
            biased;
            read = stream.read(&mut chunk) => read,
            () = stop.cancelled() => break,
        };
        let count = match read {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::debug!(%error, "cannot read agent output stream");
                break;
            }
        };
        head.push(&chunk[..count]);
    }
    head.finish()
}

/// The length of `bytes` without a UTF-8 sequence cut short at its end.
fn complete_prefix_length(bytes: &[u8]) -> usize {
    // A UTF-8 sequence is at most 4 bytes, so its lead byte is within the last 3 bytes if cut.
    for back in 1..=bytes.len().min(3) {
        let index = bytes.len() - back;
        let byte = bytes[index];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue;
        }
        let sequence_length = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if back < sequence_length {
            index
        } else {
            bytes.len()
        };
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn capture(bytes: &[u8], limit: usize) -> CapturedOutput {
        capture_stream(bytes, limit, CancellationToken::new()).await
    }

    #[tokio::test]
    async fn keeps_everything_under_the_limit() {
        let captured = capture(b"hello\n", 100).await;
        assert_eq!(captured.text, "hello\n");
        assert_eq!(captured.total_bytes, 6);
        assert!(!captured.truncated);
    }

    #[tokio::test]
    async fn keeps_the_head_and_counts_the_rest() {
        let captured = capture(b"0123456789", 4).await;
        assert_eq!(captured.text, "0123");
        assert_eq!(captured.total_bytes, 10);
        assert!(captured.truncated);
    }

    #[tokio::test]
    async fn exactly_at_the_limit_is_not_truncated() {
        let captured = capture(b"0123", 4).await;
        assert_eq!(captured.text, "0123");
        assert!(!captured.truncated);
    }

    #[tokio::test]
    async fn drops_a_character_cut_by_the_limit() {
        // "é" is two bytes; a limit of 2 cuts it after its first byte.
        let captured = capture("aé".as_bytes(), 2).await;
        assert_eq!(captured.text, "a");
        assert!(captured.truncated);
    }

    #[tokio::test]
    async fn keeps_invalid_bytes_as_replacement_characters() {
        let captured = capture(b"a\xffb", 10).await;
        assert_eq!(captured.text, "a\u{FFFD}b");
        assert_eq!(captured.total_bytes, 3);
    }

    #[test]
    fn complete_prefix_length_keeps_whole_sequences() {
        assert_eq!(complete_prefix_length("aé".as_bytes()), 3);
        assert_eq!(complete_prefix_length(&"a€".as_bytes()[..3]), 1);
        assert_eq!(complete_prefix_length(&"😀".as_bytes()[..3]), 0);
        assert_eq!(complete_prefix_length(b""), 0);
    }
}
