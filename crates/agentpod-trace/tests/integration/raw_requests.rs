//! Hand-made OTLP requests: the JSON encoding, gzip, and every way a request can be wrong. Each
//! wrong request gets a clear JSON error, is recorded when it names an issue, and the intake
//! keeps serving.

use std::io::Write;

use agentpod_trace::{
    ExportOutcome, PayloadEncoding, SpanKind, SpanStatusCode, TraceIntake, TraceIntakeConfig,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};
use prost::Message;
use serde_json::json;

use crate::support::{post, request, start_intake};

const JSON: (&str, &str) = ("content-type", "application/json");
const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");

fn traces_url(endpoint: &str) -> String {
    format!("{endpoint}/v1/traces")
}

/// An OTLP/JSON body as the specification writes it: hex ids, 64-bit integers as strings, enums
/// as numbers.
fn json_body(span_id: &str, name: &str) -> Vec<u8> {
    json!({
        "resourceSpans": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "json-agent"}}
            ]},
            "scopeSpans": [{
                "scope": {"name": "manual", "version": "0.1"},
                "spans": [{
                    "traceId": "5b8efff798038103d269b633813fc60c",
                    "spanId": span_id,
                    "parentSpanId": "eee19b7ec3c1b173",
                    "name": name,
                    "kind": 2,
                    "startTimeUnixNano": "1544712660000000000",
                    "endTimeUnixNano": "1544712661500000000",
                    "attributes": [
                        {"key": "http.route", "value": {"stringValue": "/orders"}},
                        {"key": "retries", "value": {"intValue": "3"}},
                        {"key": "ratio", "value": {"doubleValue": 0.5}},
                        {"key": "cached", "value": {"boolValue": true}},
                        {"key": "tags", "value": {"arrayValue": {"values": [
                            {"stringValue": "a"}, {"intValue": 2}
                        ]}}}
                    ],
                    "events": [{
                        "timeUnixNano": "1544712660500000000",
                        "name": "retry",
                        "attributes": [{"key": "attempt", "value": {"intValue": "1"}}]
                    }],
                    "status": {"code": 2, "message": "upstream failed"}
                }]
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("finishing in memory")
}

fn protobuf_body(span_ids: &[u8]) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: span_ids
                    .iter()
                    .map(|id| OtlpSpan {
                        trace_id: vec![7; 16],
                        span_id: vec![*id; 8],
                        name: format!("span {id}"),
                        kind: 1,
                        start_time_unix_nano: 1_000,
                        end_time_unix_nano: 2_000,
                        ..OtlpSpan::default()
                    })
                    .collect(),
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::test]
async fn json_export_is_stored_and_answered_in_json() {
    let intake = start_intake().await;
    let access = intake.register_issue("issue-json");
    let reply = post(
        &traces_url(&access.url),
        &[JSON],
        json_body("a1b2c3d4e5f60718", "GET /orders"),
    )
    .await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    assert_eq!(reply.json(), json!({}));
    assert_eq!(record.spans.len(), 1);
    let span = &record.spans[0];
    assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.span_id, "a1b2c3d4e5f60718");
    assert_eq!(span.parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
    assert_eq!(span.name, "GET /orders");
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.start, "2018-12-13T14:51:00.000000000Z");
    assert_eq!(span.end, "2018-12-13T14:51:01.500000000Z");
    assert_eq!(span.duration_ms, 1500.0);
    assert_eq!(
        serde_json::Value::Object(span.attributes.clone()),
        json!({"http.route": "/orders", "retries": 3, "ratio": 0.5, "cached": true, "tags": ["a", 2]})
    );
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events[0].name, "retry");
    assert_eq!(span.events[0].time, "2018-12-13T14:51:00.500000000Z");
    assert_eq!(span.events[0].attributes["attempt"], json!(1));
    assert_eq!(span.status.code, SpanStatusCode::Error);
    assert_eq!(span.status.message.as_deref(), Some("upstream failed"));
    assert_eq!(
        span.resource_attributes["service.name"],
        json!("json-agent")
    );
    assert_eq!(span.scope.as_deref(), Some("manual"));
    assert_eq!(record.exports[0].encoding, PayloadEncoding::Json);
    assert_eq!(record.exports[0].outcome, ExportOutcome::Accepted);
}

#[tokio::test]
async fn gzip_json_and_protobuf_exports_are_accepted() {
    let intake = start_intake().await;
    let access = intake.register_issue("issue-gzip");
    let url = traces_url(&access.url);
    let json_reply = post(
        &url,
        &[JSON, ("content-encoding", "gzip")],
        gzip(&json_body("0000000000000001", "first")),
    )
    .await;
    let protobuf_reply = post(
        &url,
        &[PROTOBUF, ("content-encoding", "gzip")],
        gzip(&protobuf_body(&[2, 3])),
    )
    .await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;

    assert_eq!(json_reply.status, 200);
    assert_eq!(protobuf_reply.status, 200);
    assert_eq!(protobuf_reply.content_type, "application/x-protobuf");
    let response = ExportTraceServiceResponse::decode(protobuf_reply.body).unwrap();
    assert_eq!(response.partial_success, None);
    let names: Vec<&str> = record.spans.iter().map(|span| span.name.as_str()).collect();
    assert_eq!(names, ["first", "span 2", "span 3"]);
    assert!(record.exports.iter().all(|export| export.gzip));
    assert_eq!(record.exports[1].spans_accepted, 2);
}

#[tokio::test]
async fn unknown_and_finished_tokens_are_refused_with_401() {
    let intake = start_intake().await;
    let access = intake.register_issue("issue-1");
    let unknown = post(
        &format!("http://{}/i/tr_unknown/v1/traces", intake.local_addr()),
        &[PROTOBUF],
        protobuf_body(&[1]),
    )
    .await;
    let finished = intake.finish_issue(&access.token);
    let late = post(&traces_url(&access.url), &[PROTOBUF], protobuf_body(&[1])).await;
    let refused = intake.refused_without_token();
    let after = intake.finish_issue(&access.token);
    intake.shutdown().await;

    for reply in [&unknown, &late] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.content_type, "application/json");
        assert_eq!(reply.json()["error"]["code"], "invalid_token");
    }
    assert_eq!(refused, 2);
    assert_eq!(finished.issue_id, "issue-1");
    assert!(finished.spans.is_empty());
    assert_eq!(after.issue_id, "", "a finished token gives an empty record");
}

#[tokio::test]
async fn malformed_bodies_get_400_are_recorded_and_serving_goes_on() {
    let intake = start_intake().await;
    let access = intake.register_issue("issue-bad");
    let url = traces_url(&access.url);
    let bad_json = post(&url, &[JSON], b"{\"resourceSpans\": [".to_vec()).await;
    let bad_protobuf = post(&url, &[PROTOBUF], vec![0x0a, 0xff, 0xff, 0xff, 0x01]).await;
    let bad_gzip = post(
        &url,
        &[PROTOBUF, ("content-encoding", "gzip")],
        b"plain".to_vec(),
    )
    .await;
    let bad_type = post(&url, &[("content-type", "text/plain")], b"hello".to_vec()).await;
    let good = post(&url, &[PROTOBUF], protobuf_body(&[9])).await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;

    let expected = [
        (&bad_json, 400, "malformed_json"),
        (&bad_protobuf, 400, "malformed_protobuf"),
        (&bad_gzip, 400, "malformed_gzip"),
        (&bad_type, 415, "unsupported_content_type"),
    ];
    for (reply, status, code) in expected {
        assert_eq!(reply.status, status, "{code}");
        assert_eq!(reply.json()["error"]["code"], code);
        assert!(reply.json()["error"]["message"].as_str().unwrap().len() > 10);
    }
    assert_eq!(good.status, 200);
    assert_eq!(record.spans.len(), 1);
    let outcomes: Vec<(ExportOutcome, u16)> = record
        .exports
        .iter()
        .map(|export| (export.outcome, export.status))
        .collect();
    assert_eq!(
        outcomes,
        [
            (ExportOutcome::Rejected, 400),
            (ExportOutcome::Rejected, 400),
            (ExportOutcome::Rejected, 400),
            (ExportOutcome::Rejected, 415),
            (ExportOutcome::Accepted, 200),
        ]
    );
    assert!(record.exports[0].error.as_deref().unwrap().contains("JSON"));
    assert!(record.exports[4].error.is_none());
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_serving_goes_on() {
    let limit = TraceIntakeConfig::default().max_body_bytes;
    let intake = start_intake().await;
    let access = intake.register_issue("issue-big");
    let url = traces_url(&access.url);
    let oversized = post(&url, &[PROTOBUF], vec![0u8; limit + 1]).await;
    // A small gzip body that inflates past the limit must be refused too.
    let bomb = post(
        &url,
        &[PROTOBUF, ("content-encoding", "gzip")],
        gzip(&vec![0u8; limit + 1]),
    )
    .await;
    let good = post(&url, &[PROTOBUF], protobuf_body(&[5])).await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;

    assert_eq!(oversized.status, 413);
    assert_eq!(oversized.json()["error"]["code"], "body_too_large");
    assert_eq!(bomb.status, 413);
    assert_eq!(good.status, 200);
    assert_eq!(record.spans.len(), 1);
    assert_eq!(record.exports.len(), 3);
    assert_eq!(record.exports[0].status, 413);
    assert_eq!(record.exports[1].status, 413);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let intake = start_intake().await;
    let access = intake.register_issue("issue-routes");
    let address = intake.local_addr();
    let unknown = request(
        "GET",
        &format!("http://{address}/v1/traces"),
        &[],
        Vec::new(),
    )
    .await;
    let wrong_method = request("GET", &traces_url(&access.url), &[], Vec::new()).await;
    let metrics = post(
        &format!("{}/v1/metrics", access.url),
        &[PROTOBUF],
        Vec::new(),
    )
    .await;
    intake.shutdown().await;

    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["code"], "unknown_route");
    assert_eq!(metrics.status, 404);
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.json()["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn spans_over_the_issue_cap_are_a_partial_success() {
    let config = TraceIntakeConfig {
        max_spans_per_issue: 3,
        ..TraceIntakeConfig::default()
    };
    let intake = TraceIntake::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let access = intake.register_issue("issue-cap");
    let reply = post(
        &traces_url(&access.url),
        &[PROTOBUF],
        protobuf_body(&[1, 2, 3, 4, 5]),
    )
    .await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;

    assert_eq!(reply.status, 200);
    let response = ExportTraceServiceResponse::decode(reply.body).unwrap();
    assert_eq!(response.partial_success.unwrap().rejected_spans, 2);
    assert_eq!(record.spans.len(), 3);
    assert_eq!(record.dropped_spans, 2);
    assert_eq!(record.exports[0].outcome, ExportOutcome::Partial);
}

#[tokio::test]
async fn issues_exporting_at_once_each_keep_only_their_spans() {
    let intake = start_intake().await;
    let accesses: Vec<_> = (0..8u8)
        .map(|index| (index, intake.register_issue(&format!("issue-{index}"))))
        .collect();
    let sends = accesses.iter().map(|(index, access)| {
        let url = traces_url(&access.url);
        let ids: Vec<u8> = (0..=*index).map(|offset| index * 10 + offset + 1).collect();
        async move { post(&url, &[PROTOBUF], protobuf_body(&ids)).await }
    });
    let replies = futures_util::future::join_all(sends).await;
    for reply in &replies {
        assert_eq!(reply.status, 200);
    }
    for (index, access) in &accesses {
        let record = intake.finish_issue(&access.token);
        assert_eq!(record.issue_id, format!("issue-{index}"));
        let expected: Vec<String> = (0..=*index)
            .map(|offset| format!("span {}", index * 10 + offset + 1))
            .collect();
        let names: Vec<String> = record.spans.iter().map(|span| span.name.clone()).collect();
        assert_eq!(names, expected);
    }
    intake.shutdown().await;
}
