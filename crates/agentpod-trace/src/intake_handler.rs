//! The HTTP side of the intake: `POST /i/<token>/v1/traces` and the clear errors for everything
//! else. Every request with a valid token leaves an [`ExportRecord`], accepted or not.

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

use crate::intake_config::TraceIntakeConfig;
use crate::intake_record::{ExportOutcome, ExportRecord, PayloadEncoding};
use crate::intake_request::{
    Refusal, decode_request, gunzip, is_gzip, payload_encoding, too_large, unsupported_content_type,
};
use crate::issue_registry::{Admitted, IssueRegistry};
use crate::span_decoder::decode_spans;

pub(crate) struct IntakeState {
    pub(crate) registry: IssueRegistry,
    pub(crate) config: TraceIntakeConfig,
    /// Requests refused before any issue could be named (unknown or revoked token).
    pub(crate) refused_without_token: AtomicU64,
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
    if !state.registry.contains(&token) {
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
            }
            success_response(encoding, admitted)
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
    if !state.registry.record_export(&token, export) {
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
    let body = read_body(body, config).await?;
    export.body_bytes = body.len();
    let payload = if export.gzip {
        gunzip(&body, config.max_body_bytes)?
    } else {
        body.to_vec()
    };
    let request = decode_request(export.encoding, &payload)?;
    let spans = decode_spans(request, config.max_attribute_bytes);
    state
        .registry
        .admit_spans(token, spans, config.max_spans_per_issue)
        .ok_or_else(invalid_token_refusal)
}

async fn read_body(body: Body, config: &TraceIntakeConfig) -> Result<Bytes, Refusal> {
    let limited = Limited::new(body, config.max_body_bytes);
    match tokio::time::timeout(config.body_timeout, limited.collect()).await {
        Err(_elapsed) => Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "request body did not arrive within {} ms",
                config.body_timeout.as_millis()
            ),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) => {
            if error.is::<http_body_util::LengthLimitError>() {
                Err(too_large(config.max_body_bytes, "as sent"))
            } else {
                Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("cannot read the request body: {error}"),
                ))
            }
        }
    }
}

/// The OTLP success response, in the encoding of the request.
fn success_response(encoding: PayloadEncoding, admitted: Admitted) -> Response {
    let partial_success = (admitted.dropped > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(admitted.dropped).unwrap_or(i64::MAX),
        error_message: "the issue holds the maximum number of spans; the rest were dropped"
            .to_owned(),
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
