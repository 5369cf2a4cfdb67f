//! A cap on each message the pod's Postgres sends the tool gateway's connections. A Postgres
//! client reads a message whole before it looks at it, and the agent decides how large some messages are: an
//! error quotes the value that failed (`SELECT repeat('x', 300000000)::int` makes a 300 MB
//! error), a row's columns are whatever the statement computes. The wire protocol says each
//! message's length in its first five bytes, so this stream reads those and fails the
//! connection as soon as a message longer than the cap announces itself, before any of it is
//! kept. The rows the tools return are capped by their statements to the result cap, so nothing
//! they need comes near this cap; an `execute` whose own rows are larger fails, and is not
//! committed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The wire protocol's message header: one type byte, then the length (itself included) as a
/// big-endian `u32`.
const HEADER_BYTES: usize = 5;

/// A byte stream from Postgres that fails on a message of more than `max_message_bytes`.
pub(crate) struct CappedMessages<S> {
    inner: S,
    max_message_bytes: usize,
    header: [u8; HEADER_BYTES],
    header_read: usize,
    /// What is left of the current message's body.
    body_left: usize,
}

impl<S> CappedMessages<S> {
    pub(crate) fn new(inner: S, max_message_bytes: usize) -> CappedMessages<S> {
        CappedMessages {
            inner,
            max_message_bytes,
            header: [0; HEADER_BYTES],
            header_read: 0,
            body_left: 0,
        }
    }

    /// Follows the message boundaries through `bytes`, the next bytes from the server.
    fn follow(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let skipped = self.body_left.min(bytes.len());
                self.body_left -= skipped;
                bytes = &bytes[skipped..];
                continue;
            }
            let wanted = HEADER_BYTES - self.header_read;
            let taken = wanted.min(bytes.len());
            self.header[self.header_read..self.header_read + taken]
                .copy_from_slice(&bytes[..taken]);
            self.header_read += taken;
            bytes = &bytes[taken..];
            if self.header_read < HEADER_BYTES {
                continue;
            }
            self.header_read = 0;
            let length = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]) as usize;
            if length < 4 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the server sent a message with a length of {length}"),
                ));
            }
            if length > self.max_message_bytes {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the server's answer holds a message of {length} bytes, over the tool \
                         gateway's limit of {} bytes per message (a row or an error too large to \
                         read); the connection was closed",
                        self.max_message_bytes
                    ),
                ));
            }
            self.body_left = length - 4;
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CappedMessages<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                Poll::Ready(this.follow(read))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CappedMessages<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn messages_under_the_cap_pass_however_they_are_split() {
        let mut stream: Vec<u8> = Vec::new();
        for body in [&b""[..], b"a row", &[7u8; 100]] {
            stream.extend(message(b'D', body));
        }
        for split in 1..stream.len() {
            let mut capped = CappedMessages::new((), 104);
            for piece in stream.chunks(split) {
                assert!(capped.follow(piece).is_ok(), "split {split}");
            }
            assert_eq!((capped.header_read, capped.body_left), (0, 0));
        }
    }

    #[test]
    fn a_message_over_the_cap_fails_at_its_header() {
        let mut capped = CappedMessages::new((), 1_000);
        assert!(capped.follow(&message(b'D', &[0; 10])).is_ok());
        // Only the header of the large message has arrived.
        let header = &message(b'E', &vec![b'x'; 5_000])[..HEADER_BYTES];
        let error = capped.follow(header).err().map(|error| error.to_string());
        assert!(error.is_some_and(|error| error.contains("message of 5004 bytes")));
    }

    #[test]
    fn a_length_shorter_than_itself_is_refused() {
        let mut capped = CappedMessages::new((), 1_000);
        assert!(capped.follow(&[b'D', 0, 0, 0, 3]).is_err());
    }
}
