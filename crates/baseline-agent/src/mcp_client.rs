//! The baseline's MCP client for the pod's tool gateway: rmcp's client over streamable HTTP at
//! `AGENTPOD_MCP_URL` (the token is part of that URL), initialised once, then tool
//! calls whose answers are read as JSON.

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, Implementation,
    InitializeRequestParams,
};
use rmcp::service::{ClientInitializeError, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

pub(crate) struct McpClient {
    service: RunningService<RoleClient, InitializeRequestParams>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum McpError {
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("tool gateway refused the session: {0}")]
    Initialize(#[from] Box<ClientInitializeError>),
    #[error("tool gateway request failed: {0}")]
    Request(#[source] ServiceError),
    #[error("tool `{tool}` failed: {message}")]
    Tool { tool: String, message: String },
}

impl McpClient {
    pub(crate) async fn connect(url: &str) -> Result<Self, McpError> {
        let http = reqwest::Client::builder().build()?;
        let transport = StreamableHttpClientTransport::with_client(
            http,
            StreamableHttpClientTransportConfig::with_uri(url),
        );
        let client_info = InitializeRequestParams::new(
            ClientCapabilities::default(),
            Implementation::new("baseline-agent", env!("CARGO_PKG_VERSION")),
        );
        let service = client_info.serve(transport).await.map_err(Box::new)?;
        Ok(Self { service })
    }

    /// Calls a tool; its structured content, or else its text content parsed as JSON where it
    /// is JSON.
    pub(crate) async fn call(
        &mut self,
        tool: &str,
        arguments: serde_json::Map<String, Value>,
    ) -> Result<Value, McpError> {
        let result = self
            .service
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
            .await
            .map_err(|error| match error {
                // A JSON-RPC error answer, quoted as the JSON the gateway sent.
                ServiceError::McpError(data) => McpError::Tool {
                    tool: tool.to_owned(),
                    message: serde_json::to_string(&data).unwrap_or(data.message.into_owned()),
                },
                other => McpError::Request(other),
            })?;
        tool_answer(tool, result)
    }

    /// Ends the session; the gateway forgets it either way when the issue ends.
    pub(crate) async fn close(self) {
        let _ = self.service.cancel().await;
    }
}

fn tool_answer(tool: &str, result: CallToolResult) -> Result<Value, McpError> {
    let text = result
        .content
        .iter()
        .filter_map(|content| content.as_text())
        .map(|content| content.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if result.is_error == Some(true) {
        return Err(McpError::Tool {
            tool: tool.to_owned(),
            message: text,
        });
    }
    if let Some(structured) = result.structured_content.filter(|value| !value.is_null()) {
        return Ok(structured);
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[cfg(test)]
mod tests {
    use rmcp::model::ContentBlock;
    use serde_json::json;

    use super::*;

    #[test]
    fn an_error_result_is_a_tool_error_with_its_text() {
        let result = CallToolResult::error(vec![ContentBlock::text("permission denied")]);
        match tool_answer("execute", result) {
            Err(McpError::Tool { tool, message }) => {
                assert_eq!(tool, "execute");
                assert_eq!(message, "permission denied");
            }
            other => panic!("expected a tool error, got {other:?}"),
        }
    }

    #[test]
    fn structured_content_wins_over_text_and_text_is_read_as_json() {
        let mut result = CallToolResult::success(vec![ContentBlock::text("[1]")]);
        result.structured_content = Some(json!({ "rows": [{ "id": 2 }] }));
        assert_eq!(
            tool_answer("query", result).unwrap(),
            json!({ "rows": [{ "id": 2 }] })
        );
        let text_only = CallToolResult::success(vec![ContentBlock::text("[{\"id\": 3}]")]);
        assert_eq!(
            tool_answer("query", text_only).unwrap(),
            json!([{ "id": 3 }])
        );
        let plain = CallToolResult::success(vec![ContentBlock::text("UPDATE 1")]);
        assert_eq!(tool_answer("execute", plain).unwrap(), json!("UPDATE 1"));
    }
}
