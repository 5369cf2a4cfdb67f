//! A test double of a throttling provider: an OpenAI-compatible chat endpoint that answers 429
//! with `retry-after` the way real providers do. It is a stand-in because no real provider can be
//! reached (or made to throttle on purpose) from this machine; it speaks the real wire format,
//! so the gateway's limiter and retries run against real HTTP.
//!
//! Two behaviours: a script (each request takes the next answer: a status and headers, or a
//! stream cut after its first event; past the script, 200), or a limit of N requests per
//! one-second window (beyond it, 429 with `retry-after: 1`). Either way it counts requests,
//! the 429s it sent and the most requests it held at once.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// This status with these headers and an OpenAI error body.
    Status(u16, Vec<(&'static str, String)>),
    /// A 200 stream that sends its first event and then breaks off.
    CutStream,
}

#[derive(Default)]
struct Throttle {
    script: Mutex<VecDeque<Scripted>>,
    per_second: Option<u64>,
    /// The current one-second window: when it started and how many it let through.
    window: Mutex<Option<(Instant, u64)>>,
    /// How long each successful answer takes, so that calls overlap.
    answer_time: Duration,
    requests: AtomicU64,
    throttled: AtomicU64,
    in_flight: AtomicU64,
    most_in_flight: AtomicU64,
}

pub struct ThrottlingUpstream {
    pub address: SocketAddr,
    state: Arc<Throttle>,
    server: tokio::task::JoinHandle<()>,
}

impl ThrottlingUpstream {
    /// Answers from `script`, then 200s taking `answer_time` each.
    pub async fn scripted(script: Vec<Scripted>, answer_time: Duration) -> ThrottlingUpstream {
        Self::start(Throttle {
            script: Mutex::new(script.into()),
            answer_time,
            ..Throttle::default()
        })
        .await
    }

    /// Lets `per_second` requests through per one-second window; 429 with `retry-after: 1`
    /// beyond.
    pub async fn per_second(per_second: u64) -> ThrottlingUpstream {
        Self::start(Throttle {
            per_second: Some(per_second),
            ..Throttle::default()
        })
        .await
    }

    async fn start(state: Throttle) -> ThrottlingUpstream {
        let state = Arc::new(state);
        let router = Router::new()
            .route("/v1/chat/completions", post(answer))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the throttling upstream");
        let address = listener.local_addr().expect("its address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        ThrottlingUpstream {
            address,
            state,
            server,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn throttled(&self) -> u64 {
        self.state.throttled.load(Ordering::SeqCst)
    }

    pub fn most_in_flight(&self) -> u64 {
        self.state.most_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for ThrottlingUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn error(status: u16, headers: &[(&'static str, String)]) -> Response {
    let mut response = Response::new(Body::from(
        json!({"error": {"message": format!("throttling upstream says {status}"), "type": "rate_limit_exceeded"}})
            .to_string(),
    ));
    *response.status_mut() = StatusCode::from_u16(status).expect("a status");
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(*name, value.parse().expect("header value"));
    }
    response
}

async fn answer(State(state): State<Arc<Throttle>>, _body: Bytes) -> Response {
    let number = state.requests.fetch_add(1, Ordering::SeqCst);
    let scripted = state.script.lock().expect("script").pop_front();
    match scripted {
        Some(Scripted::Status(status, headers)) => {
            if status == 429 {
                state.throttled.fetch_add(1, Ordering::SeqCst);
            }
            return error(status, &headers);
        }
        Some(Scripted::CutStream) => {
            let first = format!(
                "data: {}\n\n",
                json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "half"}, "finish_reason": null}]})
            );
            let stream = futures_util::stream::iter([Ok::<Bytes, Infallible>(Bytes::from(first))]);
            let mut response = Response::new(Body::from_stream(stream));
            response
                .headers_mut()
                .insert("content-type", "text/event-stream".parse().expect("header"));
            return response;
        }
        None => {}
    }
    if let Some(limit) = state.per_second {
        let mut window = state.window.lock().expect("window");
        let now = Instant::now();
        let (started, count) = match *window {
            Some((started, count)) if now.duration_since(started) < Duration::from_secs(1) => {
                (started, count)
            }
            _ => (now, 0),
        };
        if count >= limit {
            *window = Some((started, count));
            drop(window);
            state.throttled.fetch_add(1, Ordering::SeqCst);
            return error(429, &[("retry-after", "1".to_owned())]);
        }
        *window = Some((started, count + 1));
    }
    let in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.most_in_flight.fetch_max(in_flight, Ordering::SeqCst);
    tokio::time::sleep(state.answer_time).await;
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let body = json!({"id": format!("chatcmpl-{number}"), "object": "chat.completion", "created": 1,
        "model": "gpt-4o-mini", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
        "finish_reason": "stop"}], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}});
    let mut response = Response::new(Body::from(body.to_string()));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    response
}
