//! The stand-in's answers written in each API's wire format, as one JSON body or as SSE events.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::llm_api::LlmApi;
use crate::stand_in::Answer;

/// Labels every stand-in answer so no one mistakes it for a real model's.
const FINGERPRINT: &str = "agentpod-stand-in";
/// Fixed so that the same request always gets byte-identical answers.
const CREATED: u64 = 0;

pub(crate) struct StandInAnswer {
    pub(crate) answer: Answer,
    pub(crate) seed: String,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) model: &'static str,
}

/// Content type and body chunks.
pub(crate) fn render(
    api: LlmApi,
    answer: &StandInAnswer,
    streamed: bool,
    include_usage: bool,
) -> (String, Vec<Bytes>) {
    if !streamed {
        let body = match api {
            LlmApi::OpenAiChat | LlmApi::Unsupported => chat_json(answer),
            LlmApi::OpenAiResponses => responses_json(answer),
            LlmApi::AnthropicMessages => anthropic_json(answer),
        };
        return (
            "application/json".to_owned(),
            vec![Bytes::from(body.to_string())],
        );
    }
    let events = match api {
        LlmApi::OpenAiChat | LlmApi::Unsupported => chat_stream(answer, include_usage),
        LlmApi::OpenAiResponses => responses_stream(answer),
        LlmApi::AnthropicMessages => anthropic_stream(answer),
    };
    ("text/event-stream".to_owned(), events)
}

/// Splits text into a few deltas, as a real model's stream would.
fn pieces(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words.chunks(4).map(|chunk| chunk.concat()).collect()
}

fn unnamed(data: &Value) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

fn named(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

fn chat_usage(answer: &StandInAnswer) -> Value {
    json!({
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    })
}

fn chat_json(answer: &StandInAnswer) -> Value {
    let (message, finish_reason) = match &answer.answer {
        Answer::Text(text) => (
            json!({"role": "assistant", "content": text, "refusal": null}),
            "stop",
        ),
        Answer::ToolCall { name, arguments } => (
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [{
                "id": format!("call_{}", answer.seed), "type": "function",
                "function": {"name": name, "arguments": arguments}}]}),
            "tool_calls",
        ),
    };
    json!({
        "id": format!("chatcmpl-{}", answer.seed),
        "object": "chat.completion",
        "created": CREATED,
        "model": answer.model,
        "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
        "usage": chat_usage(answer),
    })
}

fn chat_stream(answer: &StandInAnswer, include_usage: bool) -> Vec<Bytes> {
    let chunk = |choices: Value| {
        unnamed(&json!({
            "id": format!("chatcmpl-{}", answer.seed),
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": answer.model,
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }))
    };
    let delta = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut events = vec![chunk(delta(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    ))];
    let finish_reason = match &answer.answer {
        Answer::Text(text) => {
            for piece in pieces(text) {
                events.push(chunk(delta(json!({"content": piece}), Value::Null)));
            }
            "stop"
        }
        Answer::ToolCall { name, arguments } => {
            events.push(chunk(delta(
                json!({"tool_calls": [{"index": 0, "id": format!("call_{}", answer.seed), "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            )));
            events.push(chunk(delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
                Value::Null,
            )));
            "tool_calls"
        }
    };
    events.push(chunk(delta(json!({}), json!(finish_reason))));
    if include_usage {
        let mut usage_chunk: Value = json!({
            "id": format!("chatcmpl-{}", answer.seed), "object": "chat.completion.chunk",
            "created": CREATED, "model": answer.model, "system_fingerprint": FINGERPRINT,
            "choices": [],
        });
        usage_chunk["usage"] = chat_usage(answer);
        events.push(unnamed(&usage_chunk));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    events
}

fn responses_item(answer: &StandInAnswer, done: bool) -> Value {
    let status = if done { "completed" } else { "in_progress" };
    match &answer.answer {
        Answer::Text(text) => json!({
            "type": "message", "id": format!("msg_{}", answer.seed), "status": status, "role": "assistant",
            "content": if done { json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]) } else { json!([]) },
        }),
        Answer::ToolCall { name, arguments } => json!({
            "type": "function_call", "id": format!("fc_{}", answer.seed), "call_id": format!("call_{}", answer.seed),
            "name": name, "arguments": if done { arguments.as_str() } else { "" }, "status": status,
        }),
    }
}

fn responses_json_with(answer: &StandInAnswer, done: bool) -> Value {
    json!({
        "id": format!("resp_{}", answer.seed),
        "object": "response",
        "created_at": CREATED,
        "status": if done { "completed" } else { "in_progress" },
        "model": answer.model,
        "output": if done { json!([responses_item(answer, true)]) } else { json!([]) },
        "usage": if done { json!({
            "input_tokens": answer.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": answer.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": answer.input_tokens + answer.output_tokens,
        }) } else { Value::Null },
        "error": null, "incomplete_details": null, "instructions": null, "metadata": {},
        "parallel_tool_calls": true, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "tools": [],
        "text": {"format": {"type": "text"}},
    })
}

fn responses_json(answer: &StandInAnswer) -> Value {
    responses_json_with(answer, true)
}

fn responses_stream(answer: &StandInAnswer) -> Vec<Bytes> {
    let mut sequence = 0;
    let mut events = Vec::new();
    let mut push = |kind: &str, mut data: Value| {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(sequence);
        sequence += 1;
        events.push(named(kind, &data));
    };
    push(
        "response.created",
        json!({"response": responses_json_with(answer, false)}),
    );
    push(
        "response.in_progress",
        json!({"response": responses_json_with(answer, false)}),
    );
    push(
        "response.output_item.added",
        json!({"output_index": 0, "item": responses_item(answer, false)}),
    );
    let item_id = match &answer.answer {
        Answer::Text(_) => format!("msg_{}", answer.seed),
        Answer::ToolCall { .. } => format!("fc_{}", answer.seed),
    };
    match &answer.answer {
        Answer::Text(text) => {
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
            push(
                "response.content_part.added",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": part("")}),
            );
            for piece in pieces(text) {
                push(
                    "response.output_text.delta",
                    json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []}),
                );
            }
            push(
                "response.output_text.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
            );
            push(
                "response.content_part.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": part(text)}),
            );
        }
        Answer::ToolCall { arguments, .. } => {
            push(
                "response.function_call_arguments.delta",
                json!({"item_id": item_id, "output_index": 0, "delta": arguments}),
            );
            push(
                "response.function_call_arguments.done",
                json!({"item_id": item_id, "output_index": 0, "arguments": arguments}),
            );
        }
    }
    push(
        "response.output_item.done",
        json!({"output_index": 0, "item": responses_item(answer, true)}),
    );
    push(
        "response.completed",
        json!({"response": responses_json_with(answer, true)}),
    );
    events
}

fn anthropic_block(answer: &StandInAnswer, done: bool) -> Value {
    match &answer.answer {
        Answer::Text(text) => {
            json!({"type": "text", "text": if done { text.as_str() } else { "" }})
        }
        Answer::ToolCall { name, arguments } => json!({
            "type": "tool_use", "id": format!("toolu_{}", answer.seed), "name": name,
            "input": if done { serde_json::from_str(arguments).unwrap_or(json!({})) } else { json!({}) },
        }),
    }
}

fn stop_reason(answer: &StandInAnswer) -> &'static str {
    match answer.answer {
        Answer::Text(_) => "end_turn",
        Answer::ToolCall { .. } => "tool_use",
    }
}

fn anthropic_message(answer: &StandInAnswer, done: bool) -> Value {
    json!({
        "id": format!("msg_{}", answer.seed),
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": if done { json!([anthropic_block(answer, true)]) } else { json!([]) },
        "stop_reason": if done { json!(stop_reason(answer)) } else { Value::Null },
        "stop_sequence": null,
        "usage": {
            "input_tokens": answer.input_tokens,
            "output_tokens": if done { answer.output_tokens } else { 1 },
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    })
}

fn anthropic_json(answer: &StandInAnswer) -> Value {
    anthropic_message(answer, true)
}

fn anthropic_stream(answer: &StandInAnswer) -> Vec<Bytes> {
    let mut events = vec![
        named(
            "message_start",
            &json!({"type": "message_start", "message": anthropic_message(answer, false)}),
        ),
        named(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": anthropic_block(answer, false)}),
        ),
        named("ping", &json!({"type": "ping"})),
    ];
    let delta = |delta: Value| {
        named(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        )
    };
    match &answer.answer {
        Answer::Text(text) => {
            for piece in pieces(text) {
                events.push(delta(json!({"type": "text_delta", "text": piece})));
            }
        }
        Answer::ToolCall { arguments, .. } => {
            events.push(delta(
                json!({"type": "input_json_delta", "partial_json": arguments}),
            ));
        }
    }
    events.push(named(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(named(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(answer), "stop_sequence": null},
            "usage": {"output_tokens": answer.output_tokens},
        }),
    ));
    events.push(named("message_stop", &json!({"type": "message_stop"})));
    events
}
