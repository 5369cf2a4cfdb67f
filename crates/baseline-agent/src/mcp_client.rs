//! Just enough of an MCP client (streamable HTTP, JSON-RPC) for the baseline to use the pod's
//! tool gateway: initialize a session, then call tools. Responses come either as JSON or as a
//! server-sent event stream; both are read.

use serde_json::{Value, json};

pub(crate) struct McpClient {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
    next_id: u64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum McpError {
    #[error("tool gateway request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("tool gateway answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("tool gateway sent no JSON-RPC response")]
    NoResponse,
    #[error("tool `{tool}` failed: {message}")]
    Tool { tool: String, message: String },
}

impl McpClient {
    pub(crate) async fn connect(url: &str) -> Result<Self, McpError> {
        let mut client = Self {
            http: reqwest::Client::new(),
            url: url.to_string(),
            session: None,
            next_id: 1,
        };
        client
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": { "name": "baseline-agent", "version": env!("CARGO_PKG_VERSION") },
                }),
            )
            .await?;
        client.notify("notifications/initialized").await?;
        Ok(client)
    }

    /// Calls a tool; its text content, parsed as JSON where it is JSON.
    pub(crate) async fn call(&mut self, tool: &str, arguments: Value) -> Result<Value, McpError> {
        let result = self
            .request(
                "tools/call",
                json!({ "name": tool, "arguments": arguments }),
            )
            .await?;
        let text: String = result["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|content| content["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n");
        if result["isError"].as_bool() == Some(true) {
            return Err(McpError::Tool {
                tool: tool.to_string(),
                message: text,
            });
        }
        if let Some(structured) = result
            .get("structuredContent")
            .filter(|value| !value.is_null())
        {
            return Ok(structured.clone());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, McpError> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let response = self.post(&body).await?;
        if let Some(session) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|value| value.to_str().ok())
        {
            self.session = Some(session.to_string());
        }
        let text = response.text().await?;
        let message = parse_messages(&text)
            .into_iter()
            .find(|message| message["id"] == id)
            .ok_or(McpError::NoResponse)?;
        if let Some(error) = message.get("error") {
            return Err(McpError::Tool {
                tool: method.to_string(),
                message: error.to_string(),
            });
        }
        Ok(message["result"].clone())
    }

    async fn notify(&mut self, method: &str) -> Result<(), McpError> {
        self.post(&json!({ "jsonrpc": "2.0", "method": method }))
            .await
            .map(|_| ())
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, McpError> {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        let response = request.send().await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(McpError::Status {
                status: status.as_u16(),
                body,
            });
        }
        Ok(response)
    }
}

/// A JSON body, or the `data:` lines of an event stream, as JSON-RPC messages.
fn parse_messages(text: &str) -> Vec<Value> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return match value {
            Value::Array(messages) => messages,
            message => vec![message],
        };
    }
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect()
}
