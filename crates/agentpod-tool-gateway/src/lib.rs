//! The tool gateway: one MCP server (streamable HTTP) per pod that stands between the agent and
//! its tools. It serves the built-in database tools, tools declared as SQL functions, and tools of
//! other MCP servers it proxies, and, for issues with a simulated customer, the channel to it
//! (`send_message_to_customer`); every call is attributed to its issue by the token in the URL,
//! metered, limited and recorded ([`IssueToolRecord`]). The agent on the other end may be
//! hostile, so what it can make the gateway hold is bounded: results are read no further than a
//! 1 MiB cap, and connections by a header-read timeout and a cap on how many are open.
//!
//! A tool's `Err(String)` (a bad argument, a refused statement, a proxied server gone) is not an
//! error of agentpod's: it is the text of the error result the agent gets, and is recorded as the
//! call's `error`. agentpod's own failures (a gateway that cannot start) are [`ToolGatewayError`].

mod capped_http_client;
mod capped_lines;
mod capped_messages;
mod capped_rows;
mod customer_channel;
mod database_tools;
mod direct_tool_call;
mod function_comment;
#[doc(hidden)]
pub mod fuzzing;
mod issue_state;
mod issue_tool_record;
mod mcp_handler;
mod proxied_message_cap;
mod proxied_servers;
mod request_guard;
mod result_cap;
mod sql_function_tools;
mod statement_connections;
mod tool_config;
mod tool_gateway;
mod tool_gateway_error;

/// The kit's shape of an issue's access: `url` is `http://<addr>/i/<token>/mcp`.
pub use agentpod_gateway_http::IssueAccess;
pub use customer_channel::{
    Customer, CustomerReply, MAX_CUSTOMER_MESSAGE_BYTES, SEND_MESSAGE_TO_CUSTOMER,
};
pub use issue_state::MAX_LISTED_REJECTIONS;
pub use issue_tool_record::{IssueToolRecord, RejectedRequest, ToolCall, ToolCallOutcome};
pub use tool_config::{ProxiedServer, ToolConfig, ToolLimits};
pub use tool_gateway::ToolGateway;
pub use tool_gateway_error::ToolGatewayError;
