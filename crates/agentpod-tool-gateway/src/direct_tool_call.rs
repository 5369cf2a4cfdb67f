//! `tools/call`, the request of nearly every MCP exchange, answered without rmcp's per-request
//! machinery. In stateless mode rmcp serves each POST with a service loop spawned for it, which
//! runs the request in a task of its own and hands the answer back over channels: three hand-offs
//! between tasks, often between threads, on every call. Here the call runs in one task spawned
//! for it (so that it finishes and is recorded even if the agent hangs up, as with rmcp) and its
//! answer is written as rmcp writes a JSON answer: the same JSON-RPC message, status and type.
//!
//! Only a call rmcp would take as it stands comes here: a POST whose `Accept`, `Content-Type`
//! and `MCP-Protocol-Version` headers rmcp accepts, with a JSON-RPC request for `tools/call`
//! that is not task-based. Everything else (`initialize`, `tools/list`, notifications, a header
//! rmcp refuses) goes on to rmcp unchanged, which answers it as before.

use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, ProtocolVersion, RequestId,
    ServerJsonRpcMessage, ServerResult,
};

use crate::issue_state::IssueState;
use crate::mcp_handler::McpHandler;
use crate::tool_gateway::GatewayShared;

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// A `tools/call` to answer here: its request id and parameters.
pub(crate) struct DirectToolCall {
    id: RequestId,
    params: CallToolRequestParams,
}

impl DirectToolCall {
    /// The call in `message`, when rmcp would run it as it stands; `None` leaves the request to
    /// rmcp.
    pub(crate) fn of(parts: &Parts, message: ClientJsonRpcMessage) -> Option<DirectToolCall> {
        if parts.method != Method::POST || !headers_rmcp_accepts(parts) {
            return None;
        }
        let ClientJsonRpcMessage::Request(request) = message else {
            return None;
        };
        let ClientRequest::CallToolRequest(call) = request.request else {
            return None;
        };
        if call.params.task.is_some() {
            return None;
        }
        Some(DirectToolCall {
            id: request.id,
            params: call.params,
        })
    }

    /// Runs the call for `issue` and answers it.
    pub(crate) async fn answer(
        self,
        shared: &Arc<GatewayShared>,
        issue: Arc<IssueState>,
    ) -> Response {
        let handler = McpHandler {
            shared: Arc::clone(shared),
        };
        let params = self.params;
        let running = tokio::spawn(async move { handler.call(&issue, params).await });
        let message = match running.await {
            Ok(Ok(result)) => {
                ServerJsonRpcMessage::response(ServerResult::CallToolResult(result), self.id)
            }
            Ok(Err(error)) => ServerJsonRpcMessage::error(error, Some(self.id)),
            Err(failed) => ServerJsonRpcMessage::error(
                McpError::internal_error(format!("the tool call failed: {failed}"), None),
                Some(self.id),
            ),
        };
        match serde_json::to_vec(&message) {
            Ok(body) => ([(header::CONTENT_TYPE, JSON)], body).into_response(),
            Err(error) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot write the answer: {error}"),
            )
                .into_response(),
        }
    }
}

/// rmcp's checks of a POST in stateless mode: the client accepts JSON and event streams, sends
/// JSON, and names a protocol version rmcp knows, if it names one.
fn headers_rmcp_accepts(parts: &Parts) -> bool {
    let text = |name| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let accepts = text(header::ACCEPT.as_str())
        .is_some_and(|accept| accept.contains(JSON) && accept.contains(EVENT_STREAM));
    let sends_json = text(header::CONTENT_TYPE.as_str()).is_some_and(|kind| kind.starts_with(JSON));
    let known_version = match parts.headers.get(PROTOCOL_VERSION_HEADER) {
        None => true,
        Some(value) => value.to_str().is_ok_and(|version| {
            ProtocolVersion::KNOWN_VERSIONS
                .iter()
                .any(|known| known.as_str() == version)
        }),
    };
    accepts && sends_json && known_version
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use serde_json::json;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::post("/i/token/mcp");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("a request").into_parts().0
    }

    fn message(value: serde_json::Value) -> ClientJsonRpcMessage {
        serde_json::from_value(value).expect("a JSON-RPC message")
    }

    fn call() -> ClientJsonRpcMessage {
        message(json!({
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": { "name": "query", "arguments": { "sql": "SELECT 1" } }
        }))
    }

    const GOOD: [(&str, &str); 2] = [
        ("accept", "application/json, text/event-stream"),
        ("content-type", "application/json"),
    ];

    #[test]
    fn a_plain_tools_call_with_the_headers_rmcp_takes_is_answered_here() {
        let direct = DirectToolCall::of(&parts(&GOOD), call());
        assert!(direct.is_some_and(|direct| direct.params.name == "query"));
        let mut with_version = GOOD.to_vec();
        with_version.push((PROTOCOL_VERSION_HEADER, "2025-06-18"));
        assert!(DirectToolCall::of(&parts(&with_version), call()).is_some());
    }

    #[test]
    fn anything_rmcp_would_refuse_or_treat_otherwise_goes_to_rmcp() {
        // Headers rmcp answers with 406, 415 or 400.
        let only_json = [
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ];
        assert!(DirectToolCall::of(&parts(&only_json), call()).is_none());
        let form = [
            ("accept", "application/json, text/event-stream"),
            ("content-type", "text/plain"),
        ];
        assert!(DirectToolCall::of(&parts(&form), call()).is_none());
        let mut unknown_version = GOOD.to_vec();
        unknown_version.push((PROTOCOL_VERSION_HEADER, "1999-01-01"));
        assert!(DirectToolCall::of(&parts(&unknown_version), call()).is_none());
        // Other requests, notifications and task-based calls.
        let list = message(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }));
        assert!(DirectToolCall::of(&parts(&GOOD), list).is_none());
        let note = message(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        assert!(DirectToolCall::of(&parts(&GOOD), note).is_none());
        let task = message(json!({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": { "name": "query", "arguments": {}, "task": {} }
        }));
        assert!(DirectToolCall::of(&parts(&GOOD), task).is_none());
    }
}
