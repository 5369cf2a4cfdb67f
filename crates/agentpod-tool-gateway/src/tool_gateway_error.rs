//! Errors of starting the gateway and registering issues. Failures of single tool calls are not
//! errors here: they become error results the agent sees, and records.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum ToolGatewayError {
    #[error("cannot bind the tool gateway to {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid database url for issue {issue_id}")]
    DatabaseUrl {
        issue_id: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("proxied server {name} has an empty command")]
    EmptyCommand { name: String },
    #[error(
        "proxied server name {name:?} is not usable in tool names (letters, digits, '_' and '-' only)"
    )]
    ServerName { name: String },
    #[error("cannot start proxied server {name}")]
    ProxiedStart {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to proxied server {name}: {message}")]
    ProxiedConnect { name: String, message: String },
    #[error("cannot list the tools of proxied server {name}: {message}")]
    ProxiedList { name: String, message: String },
}
