//! The HTTP side of the intake: `POST /i/<token>/v1/traces` and the clear errors for everything
//! else. Every request with a valid token leaves an [`ExportRecord`], accepted or not.
//!
//! An export is held to the issue's caps: the one that reaches a cap keeps the spans that fit
//! and is answered as a partial success; every later one gets 413 without its body being
//! decoded. 413, not 429: the cap never frees up during the issue, and OTLP exporters retry 429
//! but drop a batch refused with 413.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use http_body_util::{BodyExt, Limited};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::sync::Semaphore;

use crate::intake_config::TraceIntakeConfig;
use crate::intake_record::{ExportOutcome, ExportRecord, PayloadEncoding, SpanCap};
use crate::intake_request::{
    Refusal, decode_request, gunzip, is_gzip, payload_encoding, too_large, unsupported_content_type,
};
use crate::issue_spans::{Admitted, IssueCaps, IssueRoom, IssueSpans};
use crate::span_decoder::decode_spans;

/// Exports read and decoded at once. Each holds up to its body twice (as sent and inflated)
/// plus the decoded message, so this bounds the intake's working memory to a few tens of MiB
/// whatever an agent sends. 4: an SDK exports one batch at a time, and a forced flush at exit
/// may overlap it; later exports wait for a turn rather than fail.
pub(crate) const MAX_EXPORTS_IN_FLIGHT: usize = 4;

pub(crate) struct IntakeState {
    pub(crate) issues: IssueSpans,
    pub(crate) config: TraceIntakeConfig,
    /// Requests refused before any issue could be named (unknown or revoked token).
    pub(crate) refused_without_token: AtomicU64,
    /// Turns to read and decode an export; see [`MAX_EXPORTS_IN_FLIGHT`].
    pub(crate) decoding_turns: Semaphore,
}

impl IntakeState {
    pub(crate) fn new(config: TraceIntakeConfig) -> IntakeState {
        IntakeState {
            issues: IssueSpans::default(),
            config,
            refused_without_token: AtomicU64::new(0),
            decoding_turns: Semaphore::new(MAX_EXPORTS_IN_FLIGHT),
        }
    }

    fn caps(&self) -> IssueCaps {
        IssueCaps {
            max_spans: self.config.max_spans_per_issue,
            max_span_bytes: self.config.max_span_bytes_per_issue,
        }
    }
}

pub(crate) fn router(state: Arc<IntakeState>) -> Router {
    Router::new()
        .route(
            "/i/{token}/v1/traces",
            axum::routing::post(export_traces).fallback(method_not_allowed),
        )
        .fallback(unknown_route)
        .with_state(state)
}

async fn export_traces(
    State(state): State<Arc<IntakeState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let started_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    if !state.issues.contains(&token) {
        return refuse_unknown_token(&state);
    }
    let encoding = payload_encoding(&headers);
    let mut export = ExportRecord {
        started_at,
        latency_ms: 0.0,
        encoding,
        gzip: false,
        body_bytes: 0,
        spans_accepted: 0,
        spans_dropped: 0,
        status: StatusCode::OK.as_u16(),
        outcome: ExportOutcome::Accepted,
        error: None,
    };
    let result = accept(&state, &token, &headers, body, &mut export).await;
    export.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let response = match result {
        Ok(admitted) => {
            export.spans_accepted = admitted.accepted;
            export.spans_dropped = admitted.dropped;
            if admitted.dropped > 0 {
                export.outcome = ExportOutcome::Partial;
                if let Some(cap) = admitted.cap {
                    tracing::warn!(
                        dropped = admitted.dropped,
                        "an issue's spans reached the cap of {}",
                        cap_description(&state.config, cap)
                    );
                }
            }
            success_response(&state.config, encoding, admitted)
        }
        Err(refusal) => {
            tracing::warn!(
                status = refusal.status.as_u16(),
                code = refusal.code,
                "trace intake refused an export: {}",
                refusal.message
            );
            export.status = refusal.status.as_u16();
            export.outcome = ExportOutcome::Rejected;
            export.error = Some(refusal.message.clone());
            error_response(refusal)
        }
    };
    if !state.issues.record_export(&token, export) {
        // The issue finished while this request was in flight; its record is closed.
        return refuse_unknown_token(&state);
    }
    response
}

async fn accept(
    state: &IntakeState,
    token: &str,
    headers: &HeaderMap,
    body: Body,
    export: &mut ExportRecord,
) -> Result<Admitted, Refusal> {
    let config = &state.config;
    // Refuse a bad content type before reading a possibly large body.
    if export.encoding == PayloadEncoding::Unsupported {
        return Err(unsupported_content_type());
    }
    export.gzip = is_gzip(headers)?;
    let room = match state.issues.room(token, state.caps()) {
        None => return Err(invalid_token_refusal()),
        Some(IssueRoom::Full(cap)) => {
            // The body is read and thrown away, never kept, so the client sees the answer
            // instead of a connection reset while it is still sending.
            export.body_bytes = discard_body(body, config).await?;
            return Err(cap_refusal(config, cap));
        }
        Some(IssueRoom::Open(room)) => room,
    };
    // The semaphore is never closed; a closed one would only mean no turn limit.
    let _turn = state.decoding_turns.acquire().await;
    let body = read_body(body, config).await?;
    export.body_bytes = body.len();
    let gzip = export.gzip;
    let encoding = export.encoding;
    let max_body_bytes = config.max_body_bytes;
    let attribute_cap = config.max_attribute_bytes;
    // Inflating and decoding a few MiB takes milliseconds of CPU: off the async workers, so
    // other requests on this runtime are not held up behind it.
    let decoded = tokio::task::spawn_blocking(move || {
        let inflated;
        let payload: &[u8] = if gzip {
            inflated = gunzip(&body, max_body_bytes)?;
            &inflated
        } else {
            &body
        };
        let request = decode_request(encoding, payload)?;
        Ok::<_, Refusal>(decode_spans(request, attribute_cap, room))
    })
    .await
    .map_err(|error| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "decoding_failed",
            format!("the intake failed while decoding the export: {error}"),
        )
    })??;
    state
        .issues
        .admit_spans(token, decoded, state.caps())
        .ok_or_else(invalid_token_refusal)
}

/// Why an issue that reached a cap takes no more spans.
fn cap_refusal(config: &TraceIntakeConfig, cap: SpanCap) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "issue_span_cap_reached",
        format!(
            "this issue already reached its cap of {}; no more spans are kept for it",
            cap_description(config, cap)
        ),
    )
}

fn cap_description(config: &TraceIntakeConfig, cap: SpanCap) -> String {
    match cap {
        SpanCap::Spans => format!("{} spans", config.max_spans_per_issue),
        SpanCap::Bytes => format!("{} bytes of spans", config.max_span_bytes_per_issue),
    }
}

/// Reads a body to its end without keeping it, under the same size and time limits as a body
/// that is kept; returns how many bytes it had.
async fn discard_body(body: Body, config: &TraceIntakeConfig) -> Result<usize, Refusal> {
    let mut limited = Limited::new(body, config.max_body_bytes);
    let mut read = 0usize;
    let draining = async {
        while let Some(frame) = limited.frame().await {
            let frame = frame.map_err(|error| body_error(error.as_ref(), config))?;
            if let Some(data) = frame.data_ref() {
                read += data.len();
            }
        }
        Ok(())
    };
    match tokio::time::timeout(config.body_timeout, draining).await {
        Err(_elapsed) => Err(body_timeout(config)),
        Ok(Err(refusal)) => Err(refusal),
        Ok(Ok(())) => Ok(read),
    }
}

async fn read_body(body: Body, config: &TraceIntakeConfig) -> Result<Bytes, Refusal> {
    let limited = Limited::new(body, config.max_body_bytes);
    match tokio::time::timeout(config.body_timeout, limited.collect()).await {
        Err(_elapsed) => Err(body_timeout(config)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) => Err(body_error(error.as_ref(), config)),
    }
}

fn body_timeout(config: &TraceIntakeConfig) -> Refusal {
    Refusal::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        format!(
            "request body did not arrive within {} ms",
            config.body_timeout.as_millis()
        ),
    )
}

fn body_error(
    error: &(dyn std::error::Error + Send + Sync + 'static),
    config: &TraceIntakeConfig,
) -> Refusal {
    if error.is::<http_body_util::LengthLimitError>() {
        too_large(config.max_body_bytes, "as sent")
    } else {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            format!("cannot read the request body: {error}"),
        )
    }
}

/// The OTLP success response, in the encoding of the request.
fn success_response(
    config: &TraceIntakeConfig,
    encoding: PayloadEncoding,
    admitted: Admitted,
) -> Response {
    let partial_success = (admitted.dropped > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(admitted.dropped).unwrap_or(i64::MAX),
        error_message: match admitted.cap {
            Some(cap) => format!(
                "the issue reached its cap of {}; the rest were dropped",
                cap_description(config, cap)
            ),
            None => "some spans were dropped".to_owned(),
        },
    });
    match encoding {
        PayloadEncoding::Json => {
            let body = match &partial_success {
                Some(partial) => serde_json::json!({
                    "partialSuccess": {
                        "rejectedSpans": partial.rejected_spans.to_string(),
                        "errorMessage": partial.error_message,
                    }
                }),
                None => serde_json::json!({}),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        PayloadEncoding::Protobuf | PayloadEncoding::Unsupported => {
            let message = ExportTraceServiceResponse { partial_success };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                message.encode_to_vec(),
            )
                .into_response()
        }
    }
}

fn refuse_unknown_token(state: &IntakeState) -> Response {
    state.refused_without_token.fetch_add(1, Ordering::Relaxed);
    tracing::warn!("trace intake refused an export with an unknown or revoked token");
    error_response(invalid_token_refusal())
}

fn invalid_token_refusal() -> Refusal {
    Refusal::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the token in the URL is unknown or its issue has finished",
    )
}

async fn method_not_allowed() -> Response {
    error_response(Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "only POST is accepted on this route",
    ))
}

async fn unknown_route() -> Response {
    error_response(Refusal::new(
        StatusCode::NOT_FOUND,
        "unknown_route",
        "the trace intake serves POST /i/<token>/v1/traces only",
    ))
}

fn error_response(refusal: Refusal) -> Response {
    let body = serde_json::json!({
        "error": { "code": refusal.code, "message": refusal.message }
    });
    (
        refusal.status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
