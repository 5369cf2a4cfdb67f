//! Errors of the trace intake and the OTLP export.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot bind the trace intake to {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("export endpoint `{endpoint}` is not a valid http:// or https:// URL: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    #[error("cannot build the HTTP client for the export")]
    ExportClient {
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot send traces to {url}")]
    ExportSend {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("sending traces to {url} took longer than {seconds} s")]
    ExportTimeout { url: String, seconds: u64 },
    #[error("collector at {url} refused the traces with status {status}: {body}")]
    ExportRejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("issue `{issue_id}` of the run trace has a span with an invalid {field} `{value}`")]
    InvalidSpan {
        issue_id: String,
        field: &'static str,
        value: String,
    },
}
