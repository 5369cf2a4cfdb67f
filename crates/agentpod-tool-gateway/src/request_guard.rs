//! What every request passes before it reaches MCP: the issue token in the path (401 without a
//! live one), the body size limit (413), and a JSON-RPC check, so malformed input gets a clear
//! answer and a record instead of reaching the protocol machinery. A plain `tools/call` is then
//! answered at once ([`DirectToolCall`]); the other requests go on to rmcp.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentpod_gateway_http::CappedText;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Value, json};

use crate::direct_tool_call::DirectToolCall;
use crate::issue_state::IssueState;
use crate::issue_tool_record::RejectedRequest;
use crate::tool_gateway::GatewayShared;

/// The largest request body the gateway reads.
pub(crate) const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How long a client may take to send a request body once its head arrived. 30 s, as the trace
/// intake allows: the largest body crosses loopback or the pod bridge in milliseconds, so only
/// a client holding its connection on purpose comes near it.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// JSON-RPC's codes for a body that is not JSON, and for JSON that is not a request.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

/// The token in `/i/<token>/mcp`.
pub(crate) fn token_of(path: &str) -> Option<&str> {
    path.strip_prefix("/i/")?.strip_suffix("/mcp")
}

pub(crate) fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "type": kind, "message": message } })),
    )
        .into_response()
}

fn json_rpc_error(id: Value, code: i64, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": code, "message": message },
        })),
    )
        .into_response()
}

pub(crate) async fn guard(
    State(shared): State<Arc<GatewayShared>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let issue = token_of(request.uri().path()).and_then(|token| shared.issue(token));
    let Some(issue) = issue else {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown or finished issue token",
        );
    };
    let reject = |status: StatusCode, error: String, body: &[u8], body_bytes: usize| {
        let body = CappedText::from_string(String::from_utf8_lossy(body).into_owned()).text;
        issue.record_rejection(RejectedRequest {
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            status: status.as_u16(),
            error,
            body,
            body_bytes,
        });
    };

    let (mut parts, body) = request.into_parts();
    let declared_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let too_large = || format!("request body over the {MAX_BODY_BYTES} byte limit");
    if declared_length.is_some_and(|length| length > MAX_BODY_BYTES) {
        reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            too_large(),
            &[],
            declared_length.unwrap_or(0),
        );
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &too_large(),
        );
    }
    let reading = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES));
    let bytes: Bytes = match reading.await {
        Ok(Ok(bytes)) => bytes,
        Err(_elapsed) => {
            let message = format!(
                "request body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            );
            reject(
                StatusCode::REQUEST_TIMEOUT,
                message.clone(),
                &[],
                declared_length.unwrap_or(0),
            );
            return error_response(StatusCode::REQUEST_TIMEOUT, "body_timeout", &message);
        }
        Ok(Err(error)) => {
            // Without a declared length the limit shows up as a read error.
            let status = if std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                format!("cannot read request body: {error}")
            };
            reject(status, message.clone(), &[], declared_length.unwrap_or(0));
            return error_response(status, "bad_body", &message);
        }
    };

    // Only POST carries JSON-RPC; the MCP service answers other methods itself.
    if parts.method == axum::http::Method::POST {
        match parse_json_rpc(&bytes) {
            Err(refusal) => {
                reject(
                    StatusCode::BAD_REQUEST,
                    refusal.message.clone(),
                    &bytes,
                    bytes.len(),
                );
                return json_rpc_error(refusal.id, refusal.code, &refusal.message);
            }
            Ok(message) => {
                if let Some(call) = DirectToolCall::of(&parts, message) {
                    return call.answer(&shared, issue).await;
                }
            }
        }
    }

    parts.extensions.insert::<Arc<IssueState>>(issue);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Why a POST body is not a JSON-RPC message: the JSON-RPC error code, the id to answer with,
/// and the message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonRpcRefusal {
    pub(crate) id: Value,
    pub(crate) code: i64,
    pub(crate) message: String,
}

/// Checks that `bytes` is one JSON-RPC message MCP accepts.
pub(crate) fn check_json_rpc(bytes: &[u8]) -> Result<(), JsonRpcRefusal> {
    parse_json_rpc(bytes).map(|_| ())
}

/// `bytes` as one JSON-RPC message MCP accepts. A well-formed message is parsed once; only a
/// malformed one is parsed again, for a precise answer.
pub(crate) fn parse_json_rpc(bytes: &[u8]) -> Result<ClientJsonRpcMessage, JsonRpcRefusal> {
    if let Ok(message) = serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        return Ok(message);
    }
    let value = serde_json::from_slice::<Value>(bytes).map_err(|error| JsonRpcRefusal {
        id: Value::Null,
        code: PARSE_ERROR,
        message: format!("parse error: {error}"),
    })?;
    match serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
        Ok(message) => Ok(message),
        Err(error) => Err(JsonRpcRefusal {
            id: value.get("id").cloned().unwrap_or(Value::Null),
            code: INVALID_REQUEST,
            message: format!("invalid request: {error}"),
        }),
    }
}

pub(crate) async fn unknown_route() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; the MCP endpoint is /i/<token>/mcp",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comes_from_the_mcp_path_only() {
        assert_eq!(token_of("/i/abc/mcp"), Some("abc"));
        assert_eq!(token_of("/i/abc/other"), None);
        assert_eq!(token_of("/mcp"), None);
    }
}
