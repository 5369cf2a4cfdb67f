//! The gateway's configuration (per pod) and the per-issue limits.

use std::time::Duration;

/// What a pod's tool gateway serves besides the built-in database tools.
#[derive(Debug, Clone)]
pub struct ToolConfig {
    /// Every function in this schema becomes a tool named after it.
    pub sql_functions_schema: Option<String>,
    /// Other MCP servers whose tools are served as `<name>.<tool>`.
    pub servers: Vec<ProxiedServer>,
    /// The longest one tool call may take; the database also gets it as `statement_timeout`.
    pub call_timeout: Duration,
    /// The most rows the `query` tool returns; more are cut with a note. Whatever the rows, a
    /// result never passes the 1 MiB result cap either.
    pub max_rows: usize,
}

impl Default for ToolConfig {
    fn default() -> ToolConfig {
        ToolConfig {
            sql_functions_schema: None,
            servers: Vec::new(),
            call_timeout: Duration::from_secs(30),
            max_rows: 200,
        }
    }
}

/// Another MCP server whose tools the gateway forwards (and so counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxiedServer {
    /// A stdio server started once per gateway: `command[0]` with the rest as arguments.
    Command { name: String, command: Vec<String> },
    /// A streamable HTTP server.
    Url { name: String, url: String },
}

impl ProxiedServer {
    pub fn name(&self) -> &str {
        match self {
            ProxiedServer::Command { name, .. } | ProxiedServer::Url { name, .. } => name,
        }
    }
}

/// Per-issue limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolLimits {
    /// Calls that reach a tool; further calls get an error result and count as limit stops.
    pub max_tool_calls: Option<u32>,
}
