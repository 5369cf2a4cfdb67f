//! The offline stand-in model `agentpod-stand-in`: deterministic answers in each API's wire
//! format, scripted by [`StandInRules`], with usage counted by a real tokenizer (o200k_base).

use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cassette_store::canonical_json;
use crate::llm_api::LlmApi;
use crate::price_table::STAND_IN_MODEL;
use crate::stand_in_rules::StandInRules;
use crate::stand_in_wire::{StandInAnswer, render};

/// How much of a tool result the stand-in quotes back.
const QUOTE_CAP_CHARACTERS: usize = 300;

pub(crate) const DEFAULT_REPLY: &str = "This is agentpod-stand-in, an offline stand-in model, not a \
real model: no rule of the pod spec matched this message, so this is its fixed default answer.";

/// What the stand-in answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Text(String),
    ToolCall { name: String, arguments: String },
}

enum LastTurn {
    User(String),
    ToolResult(String),
    Other,
}

pub(crate) struct StandIn {
    rules: StandInRules,
}

impl StandIn {
    pub(crate) fn new(rules: StandInRules) -> StandIn {
        StandIn { rules }
    }

    /// The full reply (content type and body chunks) to `request` on `api`.
    pub(crate) fn reply(&self, api: LlmApi, request: &Value) -> (String, Vec<Bytes>) {
        let answer = self.answer(api, request);
        let digest = Sha256::digest(canonical_json(request).as_bytes());
        let seed: String = digest
            .iter()
            .take(12)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let input_tokens = count_request_tokens(request);
        let output_tokens = match &answer {
            Answer::Text(text) => count_tokens(text),
            Answer::ToolCall { name, arguments } => count_tokens(name) + count_tokens(arguments),
        };
        let streamed = request
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        render(
            api,
            &StandInAnswer {
                answer,
                seed,
                input_tokens,
                output_tokens,
                model: STAND_IN_MODEL,
            },
            streamed,
            include_usage,
        )
    }

    pub(crate) fn answer(&self, api: LlmApi, request: &Value) -> Answer {
        let tools = offered_tools(api, request);
        match last_turn(api, request) {
            LastTurn::ToolResult(result) => {
                let quoted: String = result.chars().take(QUOTE_CAP_CHARACTERS).collect();
                let ellipsis = if result.chars().count() > QUOTE_CAP_CHARACTERS {
                    "…"
                } else {
                    ""
                };
                Answer::Text(format!(
                    "agentpod-stand-in (an offline stand-in model, not a real model) received the \
                     tool result: {quoted}{ellipsis}"
                ))
            }
            LastTurn::User(message) => {
                let lowercase = message.to_lowercase();
                let Some(rule) = self
                    .rules
                    .rules
                    .iter()
                    .find(|rule| rule.matches(&lowercase))
                else {
                    return Answer::Text(DEFAULT_REPLY.to_owned());
                };
                if let Some(tool) = rule.tool.as_ref().filter(|tool| tools.contains(tool)) {
                    let arguments = if rule.arguments.is_null() {
                        "{}".to_owned()
                    } else {
                        rule.arguments.to_string()
                    };
                    return Answer::ToolCall {
                        name: tool.clone(),
                        arguments,
                    };
                }
                Answer::Text(
                    rule.reply
                        .clone()
                        .unwrap_or_else(|| DEFAULT_REPLY.to_owned()),
                )
            }
            LastTurn::Other => Answer::Text(DEFAULT_REPLY.to_owned()),
        }
    }
}

pub(crate) fn count_tokens(text: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64
}

/// Every string the request sends the model: messages, system prompt, instructions, tools.
fn count_request_tokens(request: &Value) -> u64 {
    fn walk(value: &Value, total: &mut u64) {
        match value {
            Value::String(text) => *total += count_tokens(text),
            Value::Array(items) => items.iter().for_each(|item| walk(item, total)),
            Value::Object(map) => map.values().for_each(|item| walk(item, total)),
            _ => {}
        }
    }
    let mut total = 0;
    for key in ["messages", "input", "system", "instructions", "tools"] {
        if let Some(value) = request.get(key) {
            walk(value, &mut total);
        }
    }
    total
}

fn offered_tools(api: LlmApi, request: &Value) -> Vec<String> {
    let tools = request.get("tools").and_then(Value::as_array);
    tools
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let name = match api {
                LlmApi::OpenAiChat | LlmApi::Unsupported => tool.pointer("/function/name"),
                LlmApi::OpenAiResponses | LlmApi::AnthropicMessages => tool.get("name"),
            };
            name.and_then(Value::as_str).map(str::to_owned)
        })
        .collect()
}

/// The text of a content field: a string, or the text parts of a list of blocks.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn last_turn(api: LlmApi, request: &Value) -> LastTurn {
    match api {
        LlmApi::OpenAiChat | LlmApi::Unsupported => {
            let Some(last) = request
                .get("messages")
                .and_then(Value::as_array)
                .and_then(|m| m.last())
            else {
                return LastTurn::Other;
            };
            match last.get("role").and_then(Value::as_str) {
                Some("user") => LastTurn::User(content_text(last.get("content"))),
                Some("tool" | "function") => {
                    LastTurn::ToolResult(content_text(last.get("content")))
                }
                _ => LastTurn::Other,
            }
        }
        LlmApi::OpenAiResponses => match request.get("input") {
            Some(Value::String(text)) => LastTurn::User(text.clone()),
            Some(Value::Array(items)) => {
                let Some(last) = items.last() else {
                    return LastTurn::Other;
                };
                match (
                    last.get("type").and_then(Value::as_str),
                    last.get("role").and_then(Value::as_str),
                ) {
                    (Some("function_call_output"), _) => {
                        let output = last.get("output");
                        LastTurn::ToolResult(match output {
                            Some(Value::String(text)) => text.clone(),
                            other => content_text(other),
                        })
                    }
                    (_, Some("user")) => LastTurn::User(content_text(last.get("content"))),
                    _ => LastTurn::Other,
                }
            }
            _ => LastTurn::Other,
        },
        LlmApi::AnthropicMessages => {
            let Some(last) = request
                .get("messages")
                .and_then(Value::as_array)
                .and_then(|m| m.last())
            else {
                return LastTurn::Other;
            };
            if last.get("role").and_then(Value::as_str) != Some("user") {
                return LastTurn::Other;
            }
            let content = last.get("content");
            let tool_result = content.and_then(Value::as_array).and_then(|blocks| {
                blocks
                    .iter()
                    .find(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"))
            });
            match tool_result {
                Some(block) => LastTurn::ToolResult(content_text(block.get("content"))),
                None => LastTurn::User(content_text(content)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stand_in_rules::StandInRule;
    use serde_json::json;

    fn stand_in() -> StandIn {
        StandIn::new(StandInRules {
            rules: vec![
                StandInRule {
                    when: vec!["refund".to_owned()],
                    tool: Some("query".to_owned()),
                    arguments: json!({"sql": "select 1"}),
                    reply: None,
                },
                StandInRule {
                    when: vec!["hello".to_owned()],
                    tool: None,
                    arguments: Value::Null,
                    reply: Some("hi there".to_owned()),
                },
            ],
        })
    }

    #[test]
    fn a_matching_rule_calls_its_tool_only_when_offered() {
        let offered = json!({"messages": [{"role": "user", "content": "Please REFUND me"}],
            "tools": [{"type": "function", "function": {"name": "query"}}]});
        assert_eq!(
            stand_in().answer(LlmApi::OpenAiChat, &offered),
            Answer::ToolCall {
                name: "query".to_owned(),
                arguments: "{\"sql\":\"select 1\"}".to_owned()
            }
        );
        let not_offered = json!({"messages": [{"role": "user", "content": "refund"}]});
        assert_eq!(
            stand_in().answer(LlmApi::OpenAiChat, &not_offered),
            Answer::Text(DEFAULT_REPLY.to_owned())
        );
    }

    #[test]
    fn a_tool_result_is_quoted_and_replies_follow_rules() {
        let after_tool = json!({"messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": "42 rows"}]}]});
        let Answer::Text(text) = stand_in().answer(LlmApi::AnthropicMessages, &after_tool) else {
            panic!()
        };
        assert!(
            text.contains("42 rows") && text.contains("stand-in"),
            "{text}"
        );
        let greeting = json!({"input": [{"role": "user", "content": [{"type": "input_text", "text": "Hello"}]}]});
        assert_eq!(
            stand_in().answer(LlmApi::OpenAiResponses, &greeting),
            Answer::Text("hi there".to_owned())
        );
    }

    #[test]
    fn replies_are_deterministic_and_counted_with_the_tokenizer() {
        let request =
            json!({"model": "x", "messages": [{"role": "user", "content": "hello world"}]});
        let first = stand_in().reply(LlmApi::OpenAiChat, &request);
        assert_eq!(first, stand_in().reply(LlmApi::OpenAiChat, &request));
        let body: Value = serde_json::from_slice(&first.1[0]).unwrap();
        assert_eq!(
            body["usage"]["prompt_tokens"],
            count_tokens("user") + count_tokens("hello world")
        );
        assert_eq!(body["usage"]["completion_tokens"], count_tokens("hi there"));
        assert_eq!(count_tokens("hello world"), 2);
    }
}
