//! Bounds on the agent's connections to the gateway. The agent is hostile and sets none of its
//! own bounds: without these, connections that never finish a request, or thousands of idle
//! ones, would hold agentpod's file descriptors and tasks for as long as the pod lives.

use std::time::Duration;

/// How long a client may take to send a request head, counted from when its connection opens and
/// again from each time it goes idle after a response: hyper runs one clock for both, so this is
/// also the keep-alive idle timeout. 5 s, as in the tool gateway and the trace intake: an agent on
/// loopback or the pod bridge sends a head in well under a millisecond, and HTTP clients already
/// expect idle connections to be closed after 5 s (Node's default; httpx drops its own then) and
/// open a new one.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request body may take once its head arrived: bodies are at most a few megabytes
/// sent in one go, so only a client trickling bytes to hold its connection open meets this.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once. 32, as in the other gateways: a pod serves one agent at a time,
/// which holds a few pooled connections and rarely more than a handful of calls in flight; and
/// the three gateways of eight pods at 32 each stay under the usual soft limit of 1024
/// descriptors.
const MAX_CONNECTIONS: usize = 32;

/// The bounds the gateway holds its clients to; tests shrink them to observe them quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The longest wait for a complete request head, on a new connection or on a kept-alive one
    /// between requests.
    pub header_read_timeout: Duration,
    /// The longest wait for a request's whole body once its head arrived; past it the call is
    /// answered 408 and recorded.
    pub body_read_timeout: Duration,
    /// The most connections served at once. Further connections wait in the kernel's listen
    /// backlog, costing agentpod no file descriptor, until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}
