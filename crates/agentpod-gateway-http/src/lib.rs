//! The gateway kit: what every gateway facing the agent under test (which may be hostile) shares,
//! so each gateway keeps only its protocol.
//! - Serving HTTP: one accept loop ([`serve`]) with a header-read timeout, the same clock on idle
//!   kept-alive connections, and a cap on open connections ([`ServerLimits`]), counted
//!   ([`OpenConnections`]); bound and run on a task of its own ([`GatewayListener`],
//!   [`RunningServer`]).
//! - Issues: one token format ([`IssueToken`]), the live issues by token ([`IssueRegistry`]),
//!   and what an agent is handed for one issue ([`IssueAccess`]).
//! - Records: text cut to a cap with its original size kept ([`CappedText`]).

pub mod capped_text;
mod http_server;
mod issue_access;
mod issue_registry;
mod issue_token;
mod running_server;

pub use capped_text::{CappedText, RECORD_CAP_BYTES, cap_text};
pub use http_server::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS, OpenConnections, ServerLimits, serve};
pub use issue_access::IssueAccess;
pub use issue_registry::IssueRegistry;
pub use issue_token::IssueToken;
pub use running_server::{GatewayListener, RunningServer};
