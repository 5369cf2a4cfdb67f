//! The three wire APIs the gateway speaks, their routes, and error bodies shaped the way each
//! provider's SDK expects, so an agent sees a gateway refusal as an ordinary provider error.

use serde::Serialize;

/// Which provider API a call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LlmApi {
    /// OpenAI `POST /v1/chat/completions`.
    #[serde(rename = "openai.chat")]
    OpenAiChat,
    /// OpenAI `POST /v1/responses`.
    #[serde(rename = "openai.responses")]
    OpenAiResponses,
    /// Anthropic `POST /v1/messages`.
    #[serde(rename = "anthropic.messages")]
    AnthropicMessages,
    /// A request with a valid token to a route the gateway does not serve.
    #[serde(rename = "unsupported")]
    Unsupported,
}

impl LlmApi {
    /// The route as the gateway serves it.
    pub fn route(self) -> &'static str {
        match self {
            Self::OpenAiChat => "/v1/chat/completions",
            Self::OpenAiResponses => "/v1/responses",
            Self::AnthropicMessages => "/v1/messages",
            Self::Unsupported => "",
        }
    }

    /// The name used in records (`openai.chat`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAiChat => "openai.chat",
            Self::OpenAiResponses => "openai.responses",
            Self::AnthropicMessages => "anthropic.messages",
            Self::Unsupported => "unsupported",
        }
    }

    pub(crate) fn is_anthropic(self) -> bool {
        matches!(self, Self::AnthropicMessages)
    }

    /// A JSON error body in this API's shape.
    pub(crate) fn error_body(self, error_type: &str, message: &str) -> serde_json::Value {
        if self.is_anthropic() {
            anthropic_error_body(error_type, message)
        } else {
            openai_error_body(error_type, message)
        }
    }

    /// An SSE event that makes this API's SDK raise `message` when a stream fails midway.
    pub(crate) fn stream_error_event(self, message: &str) -> String {
        if self.is_anthropic() {
            format!(
                "event: error\ndata: {}\n\n",
                anthropic_error_body("api_error", message)
            )
        } else {
            // The OpenAI SDKs raise on any unnamed event whose data carries an `error` key.
            format!(
                "data: {}\n\n",
                openai_error_body("agentpod_gateway_error", message)
            )
        }
    }
}

pub(crate) fn openai_error_body(error_type: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "error": {"message": message, "type": error_type, "code": error_type, "param": null}
    })
}

pub(crate) fn anthropic_error_body(error_type: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"type": "error", "error": {"type": error_type, "message": message}})
}
