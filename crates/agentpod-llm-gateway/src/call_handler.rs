//! One model call from the agent's request to its record: authenticate, read and check the body,
//! apply the budget, send upstream, pass the answer back (stream events as they arrive) and
//! record what happened, whatever happened.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentpod_error_chain::error_chain;
use agentpod_gateway_http::{CappedText, IssueRegistry};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::client_request::{ClientRequest, RequestRefused};
use crate::issue_ledger::IssueState;
use crate::llm_api::LlmApi;
use crate::llm_budget::BudgetKind;
use crate::llm_call::{CallOutcome, LlmCall};
use crate::price_table::PriceTable;
use crate::provider_policy::ProviderFeature;
use crate::retry_policy::RetryPolicy;
use crate::sse_parser::SseParser;
use crate::stream_meter::{StreamMeter, error_message};
use crate::throttled_send::{SendFailure, Throttling};
use crate::token_usage::TokenUsage;
use crate::upstream_backend::{ByteStream, UpstreamBackend, UpstreamFailure, UpstreamRequest};
use crate::upstream_limits::{Admission, UpstreamLimiter, estimate_tokens};

/// Requests above this are refused with 413.
pub const BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;
/// How much of an oversized body is still read (and thrown away) before the 413: a client that
/// is still sending when the connection closes sees a broken pipe instead of the answer.
const OVERSIZED_DRAIN_BYTES: usize = 4 * BODY_LIMIT_BYTES;

enum BodyError {
    TooLarge,
    Read(axum::Error),
}

/// The request body up to [`BODY_LIMIT_BYTES`]; past it, the rest is read and dropped (up to
/// [`OVERSIZED_DRAIN_BYTES`] in all) so that the refusal reaches the client. A body that arrives
/// in one frame (the usual case on loopback and the pod bridge) is kept without a copy.
async fn collect_capped(mut body: Body) -> Result<Bytes, BodyError> {
    let mut pieces = Pieces::default();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Read)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= BODY_LIMIT_BYTES {
            pieces.push(data);
        } else if total > OVERSIZED_DRAIN_BYTES {
            break;
        }
    }
    if total > BODY_LIMIT_BYTES {
        return Err(BodyError::TooLarge);
    }
    Ok(pieces.into_bytes())
}

/// A body read in chunks: the first chunk as it came, copied into one buffer only once a
/// second one arrives.
#[derive(Default)]
struct Pieces {
    first: Option<Bytes>,
    joined: Option<BytesMut>,
}

impl Pieces {
    fn len(&self) -> usize {
        match (&self.joined, &self.first) {
            (Some(joined), _) => joined.len(),
            (None, Some(first)) => first.len(),
            (None, None) => 0,
        }
    }

    fn push(&mut self, chunk: Bytes) {
        if let Some(joined) = &mut self.joined {
            joined.extend_from_slice(&chunk);
        } else if let Some(first) = self.first.take() {
            let mut joined = BytesMut::with_capacity(first.len() + chunk.len());
            joined.extend_from_slice(&first);
            joined.extend_from_slice(&chunk);
            self.joined = Some(joined);
        } else if !chunk.is_empty() {
            self.first = Some(chunk);
        }
    }

    fn into_bytes(self) -> Bytes {
        match (self.joined, self.first) {
            (Some(joined), _) => joined.freeze(),
            (None, Some(first)) => first,
            (None, None) => Bytes::new(),
        }
    }
}

/// Non-streamed upstream answers above this are treated as a failed upstream.
const UPSTREAM_BODY_LIMIT_BYTES: usize = 64 * 1024 * 1024;

pub(crate) struct GatewayState {
    pub(crate) registry: IssueRegistry<IssueState>,
    pub(crate) backend: UpstreamBackend,
    pub(crate) prices: PriceTable,
    pub(crate) timeout: Duration,
    /// The longest wait for a request body once its head arrived.
    pub(crate) body_read_timeout: Duration,
    pub(crate) allowed_provider_features: BTreeSet<ProviderFeature>,
    pub(crate) upstream_limits: Option<UpstreamLimiter>,
    pub(crate) retry: RetryPolicy,
}

/// The agent's token: `Authorization: Bearer` (OpenAI SDKs) or `x-api-key` (Anthropic SDKs).
fn token(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
    {
        return Some(value.trim());
    }
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn json_response(status: StatusCode, body: &Value, refuse_retries: bool) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if refuse_retries {
        // Both official SDKs skip their automatic retries when told to.
        response
            .headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
    }
    response
}

/// The issue behind the request's token, or why there is none.
fn authenticate(
    registry: &IssueRegistry<IssueState>,
    headers: &HeaderMap,
) -> Result<Arc<IssueState>, &'static str> {
    let Some(token) = token(headers) else {
        return Err(
            "missing agentpod issue token: send it as `Authorization: Bearer TOKEN` or `x-api-key: TOKEN`",
        );
    };
    registry
        .get(token)
        .ok_or("invalid or finished agentpod issue token")
}

fn unauthorized(api: LlmApi, message: &str) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        &api.error_body("authentication_error", message),
        true,
    )
}

/// Everything known about a call while it runs.
struct CallContext {
    state: Arc<GatewayState>,
    issue: Arc<IssueState>,
    api: LlmApi,
    model: Option<String>,
    streamed: bool,
    started: Instant,
    started_at: DateTime<Utc>,
    request: CappedText,
    throttling: Throttling,
    /// The call's place under the run's upstream limits, held until it ends.
    admission: Option<Admission>,
}

struct CallEnd {
    status: u16,
    outcome: CallOutcome,
    usage: Option<TokenUsage>,
    response_model: Option<String>,
    response: CappedText,
    error: Option<String>,
    time_to_first_byte_ms: Option<f64>,
    budget: Option<BudgetKind>,
}

impl CallEnd {
    fn failed(status: u16, outcome: CallOutcome, error: String) -> CallEnd {
        CallEnd {
            status,
            outcome,
            usage: None,
            response_model: None,
            response: CappedText::default(),
            error: Some(error),
            time_to_first_byte_ms: None,
            budget: None,
        }
    }
}

impl CallContext {
    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// Records the call's end; the context's own text moves into the record.
    fn record(self, end: CallEnd) {
        let latency_ms = self.elapsed_ms();
        let usage = end.usage.unwrap_or_default();
        let total_tokens = usage.total_tokens(self.api);
        let priced_model = end.response_model.as_deref().or(self.model.as_deref());
        if let Some(admission) = &self.admission {
            admission.settle(total_tokens);
        }
        let (cost_usd, unknown_model) = match priced_model {
            Some(model) => match self.state.prices.lookup(model) {
                Some(price) => (Some(price.cost_usd(self.api, &usage)), false),
                None => (None, true),
            },
            None if total_tokens == 0 => (Some(0.0), false),
            None => (None, true),
        };
        self.issue.record(LlmCall {
            issue_id: self.issue.issue_id.clone(),
            api: self.api,
            model: self.model,
            response_model: end.response_model,
            streamed: self.streamed,
            started_at: self.started_at,
            latency_ms,
            time_to_first_byte_ms: end.time_to_first_byte_ms,
            status: end.status,
            outcome: end.outcome,
            usage,
            total_tokens,
            cost_usd,
            unknown_model,
            request: self.request,
            response: end.response,
            error: end.error,
            budget: end.budget,
            throttling: self.throttling,
        });
    }

    /// Records a failure the gateway itself answers, and builds that answer.
    fn refuse(
        self,
        status: StatusCode,
        outcome: CallOutcome,
        error_type: &str,
        message: String,
    ) -> Response {
        let body = self.api.error_body(error_type, &message);
        self.refuse_with_body(status, outcome, body, message)
    }

    /// Records a refused body (a provider feature, or a repeated field) and answers 400 naming
    /// the field (also in the OpenAI error's `param`, where SDKs show it).
    fn refuse_request(self, refusal: &RequestRefused) -> Response {
        let message = refusal.to_string();
        let (code, outcome) = match refusal {
            RequestRefused::Feature(_) => (
                "provider_feature_refused",
                CallOutcome::ProviderFeatureRefused,
            ),
            RequestRefused::RepeatedField { .. } => ("repeated_field", CallOutcome::BadRequest),
        };
        let mut body = self.api.error_body("invalid_request_error", &message);
        if !self.api.is_anthropic()
            && let Some(error) = body.get_mut("error").and_then(Value::as_object_mut)
        {
            error.insert(
                "param".to_owned(),
                Value::String(refusal.field().to_owned()),
            );
            error.insert("code".to_owned(), Value::String(code.to_owned()));
        }
        self.refuse_with_body(StatusCode::BAD_REQUEST, outcome, body, message)
    }

    fn refuse_with_body(
        self,
        status: StatusCode,
        outcome: CallOutcome,
        body: Value,
        message: String,
    ) -> Response {
        let mut end = CallEnd::failed(status.as_u16(), outcome, message);
        end.response = CappedText::new(&body.to_string());
        self.record(end);
        json_response(status, &body, status.is_client_error())
    }
}

/// Handles `POST` on one of the three model routes.
pub(crate) async fn handle_call(
    state: Arc<GatewayState>,
    api: LlmApi,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let started_at = Utc::now();
    let issue = match authenticate(&state.registry, &headers) {
        Ok(issue) => issue,
        Err(message) => return unauthorized(api, message),
    };
    let mut context = CallContext {
        state: Arc::clone(&state),
        issue,
        api,
        model: None,
        streamed: false,
        started,
        started_at,
        request: CappedText::default(),
        throttling: Throttling::default(),
        admission: None,
    };
    // A body trickled in slowly would hold a connection slot for as long as the agent likes.
    let collected = tokio::time::timeout(state.body_read_timeout, collect_capped(body)).await;
    let client_body = match collected {
        Err(_) => {
            let message = format!(
                "the request body did not arrive within {:?}",
                state.body_read_timeout
            );
            return context.refuse(
                StatusCode::REQUEST_TIMEOUT,
                CallOutcome::BadRequest,
                "request_timeout",
                message,
            );
        }
        Ok(Ok(collected)) => collected,
        Ok(Err(BodyError::TooLarge)) => {
            let message = format!(
                "request body is larger than the gateway's limit of {BODY_LIMIT_BYTES} bytes"
            );
            return context.refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                CallOutcome::TooLarge,
                "request_too_large",
                message,
            );
        }
        Ok(Err(BodyError::Read(error))) => {
            let message = format!("cannot read the request body: {error}");
            return context.refuse(
                StatusCode::BAD_REQUEST,
                CallOutcome::BadRequest,
                "invalid_request_error",
                message,
            );
        }
    };
    context.request = CappedText::from_bytes(&client_body);
    let client_request = match ClientRequest::read(&client_body, &state.allowed_provider_features) {
        Ok(request) => request,
        Err(message) => {
            return context.refuse(
                StatusCode::BAD_REQUEST,
                CallOutcome::BadRequest,
                "invalid_request_error",
                message,
            );
        }
    };
    let client_wants_usage = client_request.wants_usage;
    context.streamed = client_request.streamed;
    // Before the budget: a refused request costs nothing and must not use up `max_calls`.
    let verdict = client_request.check_policy();
    context.model = client_request.model;
    if let Err(refusal) = verdict {
        return context.refuse_request(&refusal);
    }
    if let Err(kind) = context.issue.admit() {
        let message = format!(
            "agentpod budget exhausted for this issue: {} reached; no further model calls are allowed",
            kind.name()
        );
        let error_type = if api.is_anthropic() {
            "rate_limit_error"
        } else {
            "budget_exceeded"
        };
        let body = api.error_body(error_type, &message);
        let mut end = CallEnd::failed(429, CallOutcome::BudgetStop, message);
        end.response = CappedText::new(&body.to_string());
        end.budget = Some(kind);
        context.record(end);
        return json_response(StatusCode::TOO_MANY_REQUESTS, &body, true);
    }
    let upstream_body = if api == LlmApi::OpenAiChat && context.streamed && !client_wants_usage {
        with_usage_requested(&client_body, client_request.has_stream_options)
    } else {
        client_body.clone()
    };
    let request = UpstreamRequest {
        api: Some(api),
        method: "POST",
        route: api.route(),
        headers: &headers,
        client_body: &client_body,
        upstream_body,
    };
    let deadline = tokio::time::Instant::from_std(started) + state.timeout;
    let estimated_tokens = match &state.upstream_limits {
        Some(_) => estimate_tokens(
            request.upstream_body.len(),
            client_request.max_output_tokens,
        ),
        None => 0,
    };
    let sent = crate::throttled_send::send(
        &state.backend,
        state.upstream_limits.as_ref(),
        &state.retry,
        &request,
        estimated_tokens,
        deadline,
        &mut context.throttling,
    )
    .await;
    let reply = match sent {
        Err(SendFailure::Timeout { waiting_in_line }) => {
            let message = if waiting_in_line {
                format!(
                    "the call waited for the run's upstream limits for longer than the request timeout ({:?})",
                    state.timeout
                )
            } else {
                format!("the upstream did not answer within {:?}", state.timeout)
            };
            return context.refuse(
                StatusCode::GATEWAY_TIMEOUT,
                CallOutcome::UpstreamTimeout,
                "upstream_timeout",
                message,
            );
        }
        Err(SendFailure::QueueFull(full)) => {
            return context.refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                CallOutcome::QueueFull,
                "upstream_queue_full",
                full.to_string(),
            );
        }
        Err(SendFailure::Upstream(UpstreamFailure::Unreachable(message))) => {
            return context.refuse(
                StatusCode::BAD_GATEWAY,
                CallOutcome::UpstreamUnreachable,
                "upstream_unreachable",
                message,
            );
        }
        Err(SendFailure::Upstream(UpstreamFailure::ReplayMiss { key, reason })) => {
            let message = format!("replay has no cassette for this request (key {key}): {reason}");
            let error_type = if api.is_anthropic() {
                "not_found_error"
            } else {
                "replay_miss"
            };
            return context.refuse(
                StatusCode::NOT_FOUND,
                CallOutcome::ReplayMiss,
                error_type,
                message,
            );
        }
        Ok((reply, admission)) => {
            context.admission = admission;
            reply
        }
    };
    let success = (200..300).contains(&reply.status);
    if success && reply.content_type.starts_with("text/event-stream") {
        return stream_response(context, reply.status, reply.body, client_wants_usage);
    }
    let body = match collect_with_deadline(reply.body, deadline).await {
        Ok(body) => body,
        Err((outcome, message)) => {
            let status = if outcome == CallOutcome::UpstreamTimeout {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            };
            return context.refuse(status, outcome, "upstream_error", message);
        }
    };
    let mut end = CallEnd::failed(reply.status, CallOutcome::UpstreamError, String::new());
    end.response = CappedText::from_bytes(&body);
    end.error = None;
    meter_reply(api, reply.status, &body, &mut end);
    context.record(end);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        response.headers_mut().insert("content-type", value);
    }
    response
}

/// What metering reads of a successful non-streamed answer; every other field is skipped.
#[derive(Default, serde::Deserialize)]
struct MeteredReply {
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    usage: Option<Value>,
}

/// Reads a non-streamed answer into `end`: a success for its model and usage only (the rest of
/// the answer, the text and tool calls, is skipped by the parser rather than built into a tree
/// the gateway never reads); anything else for its error.
fn meter_reply(api: LlmApi, status: u16, body: &[u8], end: &mut CallEnd) {
    let success = (200..300).contains(&status);
    // Json that is not an object carries neither a model nor a usage.
    let metered = success
        .then(|| {
            serde_json::from_slice::<MeteredReply>(body)
                .ok()
                .or_else(|| {
                    serde_json::from_slice::<serde::de::IgnoredAny>(body)
                        .ok()
                        .map(|_| MeteredReply::default())
                })
        })
        .flatten();
    match metered {
        Some(reply) => {
            end.outcome = CallOutcome::Ok;
            end.usage = reply
                .usage
                .as_ref()
                .and_then(|usage| TokenUsage::from_usage_object(api, usage));
            end.response_model = reply
                .model
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        None => end.error = Some(reply_error(status, success, body)),
    }
}

/// Why a non-streamed answer is recorded as an upstream error: its status and error message, or
/// a success whose body is not json.
fn reply_error(status: u16, success: bool, body: &[u8]) -> String {
    if success {
        return "upstream answered with a body that is not json".to_owned();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => format!(
            "upstream answered {status}: {}",
            value
                .get("error")
                .map(error_message)
                .unwrap_or_else(|| value.to_string())
        ),
        Err(_) => format!("upstream answered {status}"),
    }
}

/// Adds `stream_options.include_usage` so a stream reports its usage even when the agent did not
/// ask; the JSON text is spliced rather than re-serialized when it can be, so nothing else of the
/// agent's request changes.
pub(crate) fn with_usage_requested(body: &Bytes, has_stream_options: bool) -> Bytes {
    if !has_stream_options {
        let text = String::from_utf8_lossy(body);
        if let Some(open) = text.find('{') {
            let rest = text[open + 1..].trim_start();
            let separator = if rest.starts_with('}') { "" } else { "," };
            return Bytes::from(format!(
                "{}{{\"stream_options\":{{\"include_usage\":true}}{separator}{}",
                &text[..open],
                &text[open + 1..]
            ));
        }
    }
    // An agent that sent `stream_options` of its own: rare enough to parse the body whole.
    let Ok(mut modified) = serde_json::from_slice::<Value>(body) else {
        return body.clone();
    };
    if let Some(options) = modified
        .get_mut("stream_options")
        .and_then(Value::as_object_mut)
    {
        options.insert("include_usage".to_owned(), Value::Bool(true));
    } else {
        modified["stream_options"] = serde_json::json!({"include_usage": true});
    }
    Bytes::from(modified.to_string())
}

async fn collect_with_deadline(
    mut body: ByteStream,
    deadline: tokio::time::Instant,
) -> Result<Bytes, (CallOutcome, String)> {
    let mut collected = Pieces::default();
    loop {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => {
                return Err((
                    CallOutcome::UpstreamTimeout,
                    "the upstream stalled while sending its answer".to_owned(),
                ));
            }
            Ok(None) => return Ok(collected.into_bytes()),
            Ok(Some(Err(error))) => {
                return Err((CallOutcome::UpstreamUnreachable, error_chain(&error)));
            }
            Ok(Some(Ok(chunk))) => {
                if collected.len() + chunk.len() > UPSTREAM_BODY_LIMIT_BYTES {
                    return Err((
                        CallOutcome::UpstreamUnreachable,
                        "the upstream's answer is too large".to_owned(),
                    ));
                }
                collected.push(chunk);
            }
        }
    }
}

/// Starts passing a stream through; the pump keeps reading (and metering) even if the agent
/// hangs up, because the upstream bills the whole answer.
fn stream_response(
    context: CallContext,
    status: u16,
    upstream: ByteStream,
    client_wants_usage: bool,
) -> Response {
    let (sender, receiver) = mpsc::channel::<Bytes>(64);
    tokio::spawn(pump(context, upstream, sender, client_wants_usage));
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|chunk| (Ok::<Bytes, Infallible>(chunk), receiver))
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}

async fn pump(
    context: CallContext,
    mut upstream: ByteStream,
    sender: mpsc::Sender<Bytes>,
    client_wants_usage: bool,
) {
    let timeout = context.state.timeout;
    let mut meter = StreamMeter::new(context.api, client_wants_usage);
    let mut parser = SseParser::default();
    let mut client_connected = true;
    let mut first_byte_ms = None;
    let mut failure: Option<(CallOutcome, String)> = None;
    loop {
        let chunk = match tokio::time::timeout(timeout, upstream.next()).await {
            Err(_) => {
                failure = Some((
                    CallOutcome::UpstreamTimeout,
                    format!("the upstream stream stalled for more than {timeout:?}"),
                ));
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                failure = Some((CallOutcome::StreamInterrupted, error_chain(&error)));
                break;
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        first_byte_ms.get_or_insert_with(|| context.elapsed_ms());
        for event in parser.push(&chunk) {
            if meter.observe(&event) && client_connected && sender.send(event.raw).await.is_err() {
                client_connected = false;
            }
        }
    }
    drop(upstream);
    if let Some(event) = parser.finish()
        && meter.observe(&event)
        && client_connected
    {
        client_connected = sender.send(event.raw).await.is_ok();
    }
    if failure.is_none() && !meter.completed {
        failure = Some((
            CallOutcome::StreamInterrupted,
            "the upstream stream ended before its final event".to_owned(),
        ));
    }
    if let Some((_, message)) = &failure
        && client_connected
    {
        let _ = sender
            .send(Bytes::from(context.api.stream_error_event(message)))
            .await;
    }
    drop(sender);
    let (outcome, error) = match failure {
        Some((outcome, message)) => (outcome, Some(message)),
        None => match meter.error.clone() {
            Some(message) => (CallOutcome::UpstreamError, Some(message)),
            None => (CallOutcome::Ok, None),
        },
    };
    context.record(CallEnd {
        status: 200,
        outcome,
        usage: meter.usage,
        response_model: meter.response_model.clone(),
        response: CappedText::new(&meter.assembled().to_string()),
        error,
        time_to_first_byte_ms: first_byte_ms,
        budget: None,
    });
}

/// `GET /v1/models`: what the upstream offers, passed through; not a metered call.
pub(crate) async fn handle_models(state: Arc<GatewayState>, headers: HeaderMap) -> Response {
    let api = if headers.contains_key("anthropic-version") {
        LlmApi::AnthropicMessages
    } else {
        LlmApi::OpenAiChat
    };
    if let Err(message) = authenticate(&state.registry, &headers) {
        return unauthorized(api, message);
    }
    let empty = Bytes::new();
    let request = UpstreamRequest {
        api: None,
        method: "GET",
        route: "/v1/models",
        headers: &headers,
        client_body: &empty,
        upstream_body: Bytes::new(),
    };
    let deadline = tokio::time::Instant::now() + state.timeout;
    let failure = |status: StatusCode, message: String| {
        json_response(status, &api.error_body("upstream_error", &message), false)
    };
    let reply = match tokio::time::timeout_at(deadline, state.backend.send(&request)).await {
        Err(_) => {
            return failure(
                StatusCode::GATEWAY_TIMEOUT,
                "the upstream did not answer in time".to_owned(),
            );
        }
        Ok(Err(UpstreamFailure::Unreachable(message))) => {
            return failure(StatusCode::BAD_GATEWAY, message);
        }
        Ok(Err(UpstreamFailure::ReplayMiss { key, .. })) => {
            return failure(
                StatusCode::NOT_FOUND,
                format!("replay has no cassette for the model list (key {key})"),
            );
        }
        Ok(Ok(reply)) => reply,
    };
    match collect_with_deadline(reply.body, deadline).await {
        Ok(body) => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() =
                StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
            if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
                response.headers_mut().insert("content-type", value);
            }
            response
        }
        Err((_, message)) => failure(StatusCode::BAD_GATEWAY, message),
    }
}

/// Any other route or method: a clear 404 (recorded when the token names an issue).
pub(crate) async fn handle_unknown(
    state: Arc<GatewayState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let api = if headers.contains_key("x-api-key") {
        LlmApi::AnthropicMessages
    } else {
        LlmApi::OpenAiChat
    };
    let message = format!(
        "the agentpod llm gateway does not serve {method} {}; it serves POST /v1/chat/completions, \
         POST /v1/responses, POST /v1/messages and GET /v1/models",
        uri.path()
    );
    if let Some(issue) = token(&headers).and_then(|token| state.registry.get(token)) {
        let context = CallContext {
            state: Arc::clone(&state),
            issue,
            api: LlmApi::Unsupported,
            model: None,
            streamed: false,
            started: Instant::now(),
            started_at: Utc::now(),
            request: CappedText::new(&format!("{method} {uri}")),
            throttling: Throttling::default(),
            admission: None,
        };
        context.record(CallEnd::failed(
            404,
            CallOutcome::UnknownRoute,
            message.clone(),
        ));
    }
    json_response(
        StatusCode::NOT_FOUND,
        &api.error_body("not_found_error", &message),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_bearer_or_api_key() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(token(&headers), Some("abc"));
        headers.insert("x-api-key", HeaderValue::from_static("xyz"));
        assert_eq!(token(&headers), Some("xyz"));
        assert_eq!(token(&HeaderMap::new()), None);
    }

    fn metered(status: u16, body: &str) -> CallEnd {
        let mut end = CallEnd::failed(status, CallOutcome::UpstreamError, String::new());
        end.error = None;
        meter_reply(LlmApi::OpenAiChat, status, body.as_bytes(), &mut end);
        end
    }

    #[test]
    fn a_success_is_read_for_its_model_and_usage_only() {
        let end = metered(
            200,
            r#"{"id":"x","choices":[{"message":{"content":"hi"}}],"model":"gpt-4o-2024",
                "usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#,
        );
        assert_eq!(end.outcome, CallOutcome::Ok);
        assert_eq!(end.response_model.as_deref(), Some("gpt-4o-2024"));
        let usage = end.usage.expect("usage read");
        assert_eq!((usage.input_tokens, usage.output_tokens), (7, 3));
        assert_eq!(end.error, None);
        // Json that is not an object is a success without usage, as before.
        let end = metered(200, "[1, 2]");
        assert_eq!(
            (end.outcome, end.usage, end.error),
            (CallOutcome::Ok, None, None)
        );
    }

    #[test]
    fn failures_and_bodies_that_are_not_json_keep_their_error() {
        let end = metered(200, "not json");
        assert_eq!(end.outcome, CallOutcome::UpstreamError);
        assert_eq!(
            end.error.as_deref(),
            Some("upstream answered with a body that is not json")
        );
        let end = metered(500, r#"{"error":{"message":"exploded"}}"#);
        assert_eq!(end.outcome, CallOutcome::UpstreamError);
        assert!(
            end.error
                .is_some_and(|error| error.starts_with("upstream answered 500"))
        );
        assert_eq!(
            metered(502, "<html>").error.as_deref(),
            Some("upstream answered 502")
        );
    }

    #[test]
    fn a_body_in_one_chunk_is_kept_without_a_copy_and_chunks_are_joined_in_order() {
        let single = Bytes::from_static(b"{\"model\":\"m\"}");
        let mut pieces = Pieces::default();
        pieces.push(Bytes::new());
        pieces.push(single.clone());
        let kept = pieces.into_bytes();
        assert_eq!(
            kept.as_ptr(),
            single.as_ptr(),
            "the chunk itself, not a copy"
        );
        let mut pieces = Pieces::default();
        for chunk in ["{\"a\"", ":", "1}"] {
            pieces.push(Bytes::from(chunk));
        }
        assert_eq!(pieces.len(), 7);
        assert_eq!(&pieces.into_bytes()[..], b"{\"a\":1}");
        assert!(Pieces::default().into_bytes().is_empty());
    }

    #[test]
    fn usage_is_requested_by_splicing_the_json() {
        let body = Bytes::from_static(br#"{"model":"m","stream":true,"messages":[]}"#);
        let spliced = with_usage_requested(&body, false);
        assert_eq!(
            &spliced[..],
            br#"{"stream_options":{"include_usage":true},"model":"m","stream":true,"messages":[]}"#
        );
        let with_options =
            Bytes::from_static(br#"{"stream":true,"stream_options":{"include_usage":false}}"#);
        let modified: Value =
            serde_json::from_slice(&with_usage_requested(&with_options, true)).unwrap();
        assert_eq!(modified["stream_options"]["include_usage"], true);
    }
}
