//! How every gateway serves HTTP to the agent under test, which may be hostile: one accept loop
//! ([`serve`]) with a header-read timeout, the same clock on idle kept-alive connections, and a
//! cap on open connections ([`ServerLimits`]), counted for those who report them
//! ([`OpenConnections`]). Each gateway keeps only its protocol.

mod http_server;

pub use http_server::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS, OpenConnections, ServerLimits, serve};
