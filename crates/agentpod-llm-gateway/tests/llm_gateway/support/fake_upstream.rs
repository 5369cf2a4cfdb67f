//! A tiny fake OpenAI- and Anthropic-compatible upstream with canned answers and known usage.
//! It is a mock because no real provider can be reached from this machine; it speaks the same
//! wire formats (JSON and SSE) so the gateway's pass-through and metering are exercised for real.
//!
//! Behaviour by requested model: `fail-500` answers 500; `stall` never answers; `stall-stream`
//! and `cut-stream` start a stream then stall or end it early. Usage differs per call (a counter)
//! so sums catch a lost or double-counted call.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::{Value, json};

pub const UPSTREAM_KEY: &str = "upstream-secret-key";

/// One answer the fake gave: which API and the usage object it reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub api: &'static str,
    pub usage: Value,
}

#[derive(Default)]
struct FakeState {
    /// Every request that reached a model route, answered or not.
    requests: AtomicU64,
    counter: AtomicU64,
    reported: Mutex<Vec<Reported>>,
    /// Keys the fake was called with that were not the upstream key.
    wrong_keys: Mutex<Vec<String>>,
}

pub struct FakeUpstream {
    pub address: SocketAddr,
    state: Arc<FakeState>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeUpstream {
    pub async fn start() -> FakeUpstream {
        let state = Arc::new(FakeState::default());
        let router = Router::new()
            .route("/v1/chat/completions", post(|s, h, b| answer(s, h, b, "openai.chat")))
            .route("/v1/responses", post(|s, h, b| answer(s, h, b, "openai.responses")))
            .route("/v1/messages", post(|s, h, b| answer(s, h, b, "anthropic.messages")))
            .route("/v1/models", get(|| async { Response::new(Body::from(
                json!({"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "fake"}]}).to_string())) }))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake upstream");
        let address = listener.local_addr().expect("fake upstream address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeUpstream {
            address,
            state,
            server,
        }
    }

    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn reported(&self) -> Vec<Reported> {
        self.state.reported.lock().expect("reported lock").clone()
    }

    /// How many requests reached the fake's model routes, whatever it answered.
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn wrong_keys(&self) -> Vec<String> {
        self.state.wrong_keys.lock().expect("keys lock").clone()
    }

    pub fn stop(self) {
        self.server.abort();
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn sse(events: Vec<String>, tail: Tail) -> Response {
    let stream = futures_util::stream::iter(
        events
            .into_iter()
            .map(|event| Ok::<Bytes, Infallible>(Bytes::from(event))),
    );
    let body = match tail {
        Tail::End => Body::from_stream(stream),
        Tail::Stall => Body::from_stream(stream.chain(futures_util::stream::pending())),
    };
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert("content-type", "text/event-stream".parse().expect("header"));
    response
}

enum Tail {
    End,
    Stall,
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    response
}

async fn answer(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    body: Bytes,
    api: &'static str,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let key = headers
        .get("x-api-key")
        .or_else(|| headers.get("authorization"))
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .trim_start_matches("Bearer ")
        .to_owned();
    if key != UPSTREAM_KEY {
        state.wrong_keys.lock().expect("keys lock").push(key);
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": "bad upstream key"}}),
        );
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": {"message": error.to_string()}}),
            );
        }
    };
    let model = request["model"].as_str().unwrap_or("").to_owned();
    match model.as_str() {
        "fail-500" => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": {"message": "fake upstream exploded", "type": "server_error"}}),
            );
        }
        "stall" => return futures_util::future::pending().await,
        _ => {}
    }
    let n = state.counter.fetch_add(1, Ordering::SeqCst);
    let streamed = request["stream"].as_bool().unwrap_or(false);
    let tools = request["tools"]
        .as_array()
        .is_some_and(|tools| !tools.is_empty());
    let last_is_user_text = match api {
        "openai.responses" => request["input"].is_string(),
        _ => {
            let last = request["messages"]
                .as_array()
                .and_then(|m| m.last())
                .cloned()
                .unwrap_or(Value::Null);
            last["role"] == "user" && last["content"].is_string()
        }
    };
    let tool_call = tools && last_is_user_text;
    let text = format!("fake answer number {n} from the fake upstream");
    let arguments = json!({"order_id": "42"}).to_string();
    let usage = match api {
        "openai.chat" => {
            json!({"prompt_tokens": 100 + n, "completion_tokens": 20 + n % 7, "total_tokens": 120 + n + n % 7,
            "prompt_tokens_details": {"cached_tokens": n % 5}, "completion_tokens_details": {"reasoning_tokens": n % 3}})
        }
        "openai.responses" => {
            json!({"input_tokens": 200 + n, "output_tokens": 30 + n % 7, "total_tokens": 230 + n + n % 7,
            "input_tokens_details": {"cached_tokens": n % 5}, "output_tokens_details": {"reasoning_tokens": n % 3}})
        }
        _ => json!({"input_tokens": 300 + n, "output_tokens": 40 + n % 7,
            "cache_read_input_tokens": n % 5, "cache_creation_input_tokens": n % 4}),
    };
    let tail = match model.as_str() {
        "stall-stream" => Some(Tail::Stall),
        "cut-stream" => Some(Tail::End),
        _ => None,
    };
    if tail.is_none() {
        // Only whole answers are reported: an interrupted stream never gave its usage.
        state
            .reported
            .lock()
            .expect("reported lock")
            .push(Reported {
                api,
                usage: usage.clone(),
            });
    }
    let answer_model = model.clone();
    if !streamed {
        let body = match api {
            "openai.chat" => {
                let message = if tool_call {
                    json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("call_{n}"), "type": "function",
                        "function": {"name": "lookup_order", "arguments": arguments}}]})
                } else {
                    json!({"role": "assistant", "content": text})
                };
                json!({"id": format!("chatcmpl-{n}"), "object": "chat.completion", "created": 1, "model": answer_model,
                    "choices": [{"index": 0, "message": message, "finish_reason": if tool_call { "tool_calls" } else { "stop" }}],
                    "usage": usage})
            }
            "openai.responses" => {
                json!({"id": format!("resp_{n}"), "object": "response", "created_at": 1, "status": "completed",
                "model": answer_model, "output": [{"type": "message", "id": format!("msg_{n}"), "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}], "usage": usage})
            }
            _ => {
                let content = if tool_call {
                    json!([{"type": "tool_use", "id": format!("toolu_{n}"), "name": "lookup_order", "input": {"order_id": "42"}}])
                } else {
                    json!([{"type": "text", "text": text}])
                };
                json!({"id": format!("msg_{n}"), "type": "message", "role": "assistant", "model": answer_model, "content": content,
                    "stop_reason": if tool_call { "tool_use" } else { "end_turn" }, "stop_sequence": null, "usage": usage})
            }
        };
        return json_response(StatusCode::OK, body);
    }
    let mut events = Vec::new();
    match api {
        "openai.chat" => {
            let chunk = |choices: Value| {
                format!(
                    "data: {}\n\n",
                    json!({"id": format!("chatcmpl-{n}"), "object": "chat.completion.chunk",
                "created": 1, "model": answer_model, "choices": choices})
                )
            };
            events.push(chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}])));
            for word in text.split_inclusive(' ') {
                events.push(chunk(
                    json!([{"index": 0, "delta": {"content": word}, "finish_reason": null}]),
                ));
            }
            events.push(chunk(
                json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            ));
            if request["stream_options"]["include_usage"] == true {
                events.push(format!(
                    "data: {}\n\n",
                    json!({"id": format!("chatcmpl-{n}"), "object": "chat.completion.chunk",
                    "created": 1, "model": answer_model, "choices": [], "usage": usage})
                ));
            }
            events.push("data: [DONE]\n\n".to_owned());
        }
        "openai.responses" => {
            let item_id = format!("msg_{n}");
            let response = |status: &str, output: Value, usage: Value| {
                json!({"id": format!("resp_{n}"), "object": "response",
                "created_at": 1, "status": status, "model": answer_model, "output": output, "usage": usage})
            };
            let event = |kind: &str, mut data: Value| {
                data["type"] = json!(kind);
                format!("event: {kind}\ndata: {data}\n\n")
            };
            events.push(event(
                "response.created",
                json!({"response": response("in_progress", json!([]), Value::Null)}),
            ));
            for word in text.split_inclusive(' ') {
                events.push(event("response.output_text.delta", json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": word})));
            }
            let output = json!([{"type": "message", "id": item_id, "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}]);
            events.push(event(
                "response.completed",
                json!({"response": response("completed", output, usage)}),
            ));
        }
        _ => {
            let event = |kind: &str, data: Value| format!("event: {kind}\ndata: {data}\n\n");
            let mut start_usage = usage.clone();
            start_usage["output_tokens"] = json!(1);
            events.push(event("message_start", json!({"type": "message_start", "message": {"id": format!("msg_{n}"), "type": "message",
                "role": "assistant", "model": answer_model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage}})));
            events.push(event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
            for word in text.split_inclusive(' ') {
                events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}})));
            }
            events.push(event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ));
            events.push(event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": usage["output_tokens"]}})));
            events.push(event("message_stop", json!({"type": "message_stop"})));
        }
    }
    match tail {
        Some(tail) => {
            events.truncate(3);
            sse(events, tail)
        }
        None => sse(events, Tail::End),
    }
}
