//! Errors of the gateway's setup. Per-call failures are not errors here: they become an error
//! response to the agent and a record.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Starting the gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmGatewayError {
    #[error("cannot bind the llm gateway to {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the cassette directory {path}")]
    CassetteDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot build the http client for the upstream")]
    HttpClient {
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot set up tls for the upstream")]
    Tls {
        #[source]
        source: rustls::Error,
    },
    #[error("invalid upstream base url `{url}`: {reason}")]
    UpstreamUrl { url: String, reason: String },
}
