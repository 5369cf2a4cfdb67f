//! Reads a streamed answer event by event: the usage, the model, whether the stream reached its
//! final event, and the reassembled final message for the record.

use serde_json::{Map, Value, json};

use crate::llm_api::LlmApi;
use crate::sse_parser::SseEvent;
use crate::token_usage::TokenUsage;

/// Tool calls of one streamed chat answer kept for the record; far more than any model makes.
const MAX_TOOL_CALLS: usize = 1024;

pub(crate) struct StreamMeter {
    api: LlmApi,
    /// Chat streams only: whether the agent asked for the usage chunk itself.
    client_wants_usage: bool,
    pub(crate) usage: Option<TokenUsage>,
    pub(crate) response_model: Option<String>,
    pub(crate) completed: bool,
    pub(crate) error: Option<String>,
    chat: ChatAssembly,
    /// Responses: the final `response` object; Anthropic: the message being assembled.
    message: Option<Value>,
    anthropic_blocks: Vec<Value>,
    anthropic_partial_json: Vec<String>,
}

#[derive(Default)]
struct ChatAssembly {
    id: Option<String>,
    content: String,
    reasoning: String,
    tool_calls: Vec<(String, String, String)>,
    finish_reason: Option<String>,
}

impl StreamMeter {
    pub(crate) fn new(api: LlmApi, client_wants_usage: bool) -> StreamMeter {
        StreamMeter {
            api,
            client_wants_usage,
            usage: None,
            response_model: None,
            completed: false,
            error: None,
            chat: ChatAssembly::default(),
            message: None,
            anthropic_blocks: Vec::new(),
            anthropic_partial_json: Vec::new(),
        }
    }

    /// Takes note of one event; returns whether to pass it on to the agent.
    pub(crate) fn observe(&mut self, event: &SseEvent) -> bool {
        let data = event.data.trim();
        if data.is_empty() {
            return true;
        }
        if data == "[DONE]" {
            if self.api == LlmApi::OpenAiChat {
                self.completed = true;
            }
            return true;
        }
        let Ok(value) = serde_json::from_str::<Value>(data) else {
            return true;
        };
        if let Some(error) = value.get("error").filter(|error| !error.is_null()) {
            self.error = Some(error_message(error));
        }
        match self.api {
            LlmApi::OpenAiChat | LlmApi::Unsupported => self.observe_chat(&value),
            LlmApi::OpenAiResponses => {
                self.observe_responses(&value);
                true
            }
            LlmApi::AnthropicMessages => {
                self.observe_anthropic(event.event.as_deref(), &value);
                true
            }
        }
    }

    fn observe_chat(&mut self, chunk: &Value) -> bool {
        if let Some(model) = chunk.get("model").and_then(Value::as_str) {
            self.response_model = Some(model.to_owned());
        }
        if self.chat.id.is_none() {
            self.chat.id = chunk.get("id").and_then(Value::as_str).map(str::to_owned);
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        for choice in choices.into_iter().flatten() {
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.chat.finish_reason = Some(reason.to_owned());
            }
            let Some(delta) = choice.get("delta") else {
                continue;
            };
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                self.chat.content.push_str(text);
            }
            for key in ["reasoning_content", "reasoning"] {
                if let Some(text) = delta.get(key).and_then(Value::as_str) {
                    self.chat.reasoning.push_str(text);
                }
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                // The index sizes the list: an upstream's huge index must not allocate for it.
                let Some(index) = usize::try_from(index)
                    .ok()
                    .filter(|index| *index < MAX_TOOL_CALLS)
                else {
                    continue;
                };
                if index >= self.chat.tool_calls.len() {
                    self.chat.tool_calls.resize(index + 1, Default::default());
                }
                let slot = &mut self.chat.tool_calls[index];
                if let Some(id) = call.get("id").and_then(Value::as_str) {
                    slot.0 = id.to_owned();
                }
                let function = call.get("function");
                if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) {
                    slot.1.push_str(name);
                }
                if let Some(arguments) = function
                    .and_then(|f| f.get("arguments"))
                    .and_then(Value::as_str)
                {
                    slot.2.push_str(arguments);
                }
            }
        }
        let usage = chunk
            .get("usage")
            .and_then(|usage| TokenUsage::from_usage_object(self.api, usage));
        let usage_only = usage.is_some() && choices.is_some_and(Vec::is_empty);
        if usage.is_some() {
            self.usage = usage;
        }
        // The usage-only chunk exists because the gateway asked for it; an agent that did not
        // ask must not see a chunk its SDK may not expect.
        !usage_only || self.client_wants_usage
    }

    fn observe_responses(&mut self, value: &Value) {
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        let Some(response) = value.get("response") else {
            if kind == "error" {
                self.error = Some(error_message(value));
            }
            return;
        };
        if let Some(model) = response.get("model").and_then(Value::as_str) {
            self.response_model = Some(model.to_owned());
        }
        if matches!(
            kind,
            "response.completed" | "response.incomplete" | "response.failed"
        ) {
            self.usage = response
                .get("usage")
                .and_then(|usage| TokenUsage::from_usage_object(self.api, usage));
            self.message = Some(response.clone());
            self.completed = true;
            if kind == "response.failed" {
                self.error = Some(
                    response
                        .get("error")
                        .map(error_message)
                        .unwrap_or_else(|| "response failed".to_owned()),
                );
            }
        }
    }

    fn observe_anthropic(&mut self, event: Option<&str>, value: &Value) {
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .or(event)
            .unwrap_or("");
        match kind {
            "message_start" => {
                let Some(message) = value.get("message") else {
                    return;
                };
                if let Some(model) = message.get("model").and_then(Value::as_str) {
                    self.response_model = Some(model.to_owned());
                }
                self.usage = message
                    .get("usage")
                    .and_then(|usage| TokenUsage::from_usage_object(self.api, usage));
                self.message = Some(message.clone());
            }
            "content_block_start" => {
                let block = value.get("content_block").cloned().unwrap_or(Value::Null);
                self.anthropic_blocks.push(block);
                self.anthropic_partial_json.push(String::new());
            }
            "content_block_delta" => {
                let index = value.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                let (Some(block), Some(delta)) =
                    (self.anthropic_blocks.get_mut(index), value.get("delta"))
                else {
                    return;
                };
                let append = |block: &mut Value, key: &str, text: &str| {
                    if let Some(object) = block.as_object_mut() {
                        let existing = object
                            .get(key)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned();
                        object.insert(key.to_owned(), Value::String(existing + text));
                    }
                };
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        append(
                            block,
                            "text",
                            delta.get("text").and_then(Value::as_str).unwrap_or(""),
                        );
                    }
                    Some("thinking_delta") => {
                        append(
                            block,
                            "thinking",
                            delta.get("thinking").and_then(Value::as_str).unwrap_or(""),
                        );
                    }
                    Some("signature_delta") => {
                        append(
                            block,
                            "signature",
                            delta.get("signature").and_then(Value::as_str).unwrap_or(""),
                        );
                    }
                    Some("input_json_delta") => {
                        if let Some(buffer) = self.anthropic_partial_json.get_mut(index) {
                            buffer.push_str(
                                delta
                                    .get("partial_json")
                                    .and_then(Value::as_str)
                                    .unwrap_or(""),
                            );
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let index = value.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                let partial = self
                    .anthropic_partial_json
                    .get(index)
                    .cloned()
                    .unwrap_or_default();
                if let Some(object) = self
                    .anthropic_blocks
                    .get_mut(index)
                    .and_then(Value::as_object_mut)
                    && !partial.is_empty()
                {
                    let input = serde_json::from_str(&partial).unwrap_or(Value::String(partial));
                    object.insert("input".to_owned(), input);
                }
            }
            "message_delta" => {
                if let Some(usage) = value.get("usage") {
                    self.usage
                        .get_or_insert_with(TokenUsage::default)
                        .merge_anthropic_delta(usage);
                }
                if let (Some(message), Some(delta)) = (
                    self.message.as_mut().and_then(Value::as_object_mut),
                    value.get("delta").and_then(Value::as_object),
                ) {
                    for (key, field) in delta {
                        message.insert(key.clone(), field.clone());
                    }
                }
            }
            "message_stop" => self.completed = true,
            "error" => self.error = Some(value.get("error").map(error_message).unwrap_or_default()),
            _ => {}
        }
    }

    /// The final message as one JSON value, for the record.
    pub(crate) fn assembled(&self) -> Value {
        match self.api {
            LlmApi::OpenAiChat | LlmApi::Unsupported => {
                let mut message = Map::new();
                message.insert("role".to_owned(), json!("assistant"));
                message.insert("content".to_owned(), json!(self.chat.content));
                if !self.chat.reasoning.is_empty() {
                    message.insert("reasoning_content".to_owned(), json!(self.chat.reasoning));
                }
                if !self.chat.tool_calls.is_empty() {
                    let calls: Vec<Value> = self
                        .chat
                        .tool_calls
                        .iter()
                        .map(|(id, name, arguments)| {
                            json!({"id": id, "type": "function",
                                "function": {"name": name, "arguments": arguments}})
                        })
                        .collect();
                    message.insert("tool_calls".to_owned(), Value::Array(calls));
                }
                json!({
                    "id": self.chat.id,
                    "model": self.response_model,
                    "choices": [{"index": 0, "message": message, "finish_reason": self.chat.finish_reason}],
                    "usage": self.usage.map(|usage| json!({
                        "prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                    })),
                })
            }
            LlmApi::OpenAiResponses => self.message.clone().unwrap_or(Value::Null),
            LlmApi::AnthropicMessages => {
                let mut message = self.message.clone().unwrap_or_else(|| json!({}));
                if let Some(object) = message.as_object_mut() {
                    object.insert(
                        "content".to_owned(),
                        Value::Array(self.anthropic_blocks.clone()),
                    );
                    if let Some(usage) = self.usage {
                        object.insert(
                            "usage".to_owned(),
                            json!({
                                "input_tokens": usage.input_tokens,
                                "output_tokens": usage.output_tokens,
                                "cache_read_input_tokens": usage.cached_input_tokens,
                                "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                            }),
                        );
                    }
                }
                message
            }
        }
    }
}

pub(crate) fn error_message(error: &Value) -> String {
    error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse_parser::SseParser;

    fn run(api: LlmApi, wants_usage: bool, stream: &str) -> (StreamMeter, Vec<bool>) {
        let mut meter = StreamMeter::new(api, wants_usage);
        let mut parser = SseParser::default();
        let forwarded = parser
            .push(stream.as_bytes())
            .iter()
            .map(|event| meter.observe(event))
            .collect();
        (meter, forwarded)
    }

    const CHAT: &str = concat!(
        "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\",\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn chat_stream_is_metered_reassembled_and_the_usage_chunk_hidden_when_unasked() {
        let (meter, forwarded) = run(LlmApi::OpenAiChat, false, CHAT);
        assert_eq!(forwarded, vec![true, true, true, false, true]);
        assert!(meter.completed);
        assert_eq!(
            meter
                .usage
                .map(|usage| (usage.input_tokens, usage.output_tokens)),
            Some((9, 4))
        );
        let assembled = meter.assembled();
        assert_eq!(assembled["choices"][0]["message"]["content"], "Hello");
        assert_eq!(
            assembled["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        let (_, forwarded) = run(LlmApi::OpenAiChat, true, CHAT);
        assert!(forwarded.iter().all(|forward| *forward));
    }

    #[test]
    fn chat_stream_without_done_is_not_completed() {
        let cut = &CHAT[..CHAT.find("data: {\"id\":\"c1\",\"choices\":[]").unwrap()];
        let (meter, _) = run(LlmApi::OpenAiChat, false, cut);
        assert!(!meter.completed);
        assert_eq!(meter.usage, None);
    }

    /// Found by the `llm_stream` fuzz target's review: a tool call index of 4e12 made the meter
    /// allocate 288 TB and abort the process.
    #[test]
    fn a_huge_tool_call_index_is_ignored_rather_than_allocated() {
        let stream = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":4000000000000,\"function\":{\"name\":\"x\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"name\":\"lookup\"}}]}}]}\n\n",
        );
        let (meter, _) = run(LlmApi::OpenAiChat, false, stream);
        let calls = &meter.assembled()["choices"][0]["message"]["tool_calls"];
        assert_eq!(calls.as_array().map(Vec::len), Some(2), "{calls}");
        assert_eq!(calls[1]["function"]["name"], "lookup");
    }

    #[test]
    fn anthropic_stream_merges_start_and_delta_usage() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"lookup\",\"input\":{}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"2}\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":30}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let (meter, _) = run(LlmApi::AnthropicMessages, false, stream);
        assert!(meter.completed);
        let usage = meter.usage.unwrap();
        assert_eq!(
            (
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens
            ),
            (12, 5, 30)
        );
        let message = meter.assembled();
        assert_eq!(message["content"][0]["input"]["q"], 2);
        assert_eq!(message["stop_reason"], "tool_use");
    }
}
