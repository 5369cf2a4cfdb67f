//! Bounds on the agent's connections to the gateway. The agent is hostile and sets none of its
//! own bounds: without these, connections that never finish a request, or thousands of idle
//! ones, would hold agentpod's file descriptors and tasks for as long as the pod lives.

use std::time::Duration;

/// The gateways' common header-read (and idle) timeout; see `agentpod-gateway-http`.
const HEADER_READ_TIMEOUT: Duration = agentpod_gateway_http::HEADER_READ_TIMEOUT;

/// How long a request body may take once its head arrived: bodies are at most a few megabytes
/// sent in one go, so only a client trickling bytes to hold its connection open meets this.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The gateways' common cap on connections served at once; see `agentpod-gateway-http`.
const MAX_CONNECTIONS: usize = agentpod_gateway_http::MAX_CONNECTIONS;

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
