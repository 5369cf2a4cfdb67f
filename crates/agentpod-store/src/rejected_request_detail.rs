//! A rejected request as stored: an HTTP request to one of the pod's gateways that carried the
//! issue's token but never became a call — malformed JSON-RPC or OTLP, an oversized body, an
//! export refused at a cap. Kept so an agent that floods or probes a gateway is visible in its
//! issue's steps, not only in a log. The step around it carries the issue, the trial, the start
//! and the latency.
//!
//! Every field has a default, so a row written with fewer fields still reads.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RejectedRequestDetail {
    /// Which gateway refused it: `tools` or `traces`.
    pub gateway: String,
    /// The HTTP status the client got.
    pub status: u16,
    pub error: String,
    /// The body as received, lossily decoded and cut at the record cap; empty where the gateway
    /// does not keep bodies (the trace intake's are binary).
    pub body: String,
    pub body_bytes: usize,
    /// Requests the gateway refused after this one and only counted (it lists a bounded number
    /// per issue); set on the last one listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_listed_after: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}
