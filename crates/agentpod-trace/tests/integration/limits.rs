//! The bounds a flooding agent runs into: the per-issue byte cap on stored spans, a gzip body
//! that inflates past the body limit, and connections that never finish a request head or sit
//! idle. Sizes stay small enough for each test to run in seconds.

use std::io::Write;
use std::time::Duration;

use agentpod_trace::{ExportOutcome, SpanCap, TraceIntakeConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{post, start_intake};

const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");

/// Far longer than any limit under test, so a slow machine cannot fail a test that is right.
const DEADLINE: Duration = Duration::from_secs(30);

/// One export of `count` spans numbered from `first`, each with a 60 KiB attribute: under the
/// 64 KiB attribute cap, so every span is stored whole at a little over 60 KiB.
fn large_spans(first: usize, count: usize) -> Vec<u8> {
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (first..first + count)
                    .map(|number| OtlpSpan {
                        trace_id: vec![1; 16],
                        span_id: (number as u64 + 1).to_be_bytes().to_vec(),
                        name: format!("span {number}"),
                        kind: 1,
                        start_time_unix_nano: 1_000,
                        end_time_unix_nano: 2_000,
                        attributes: vec![KeyValue {
                            key: "padding".to_owned(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::StringValue("p".repeat(60 * 1024))),
                            }),
                            ..KeyValue::default()
                        }],
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
async fn exports_past_the_issue_byte_cap_are_refused_and_stored_spans_stop_at_it() {
    let cap = TraceIntakeConfig::default().max_span_bytes_per_issue;
    let intake = start_intake().await;
    let access = intake.register_issue("issue-flood");
    let url = format!("{}/v1/traces", access.url);
    // 16 spans of ~60 KiB per export: about 1 MiB each, so the default 8 MiB cap is reached
    // within a dozen exports; the bound on the loop keeps a broken cap from running on.
    const SPANS_PER_EXPORT: usize = 16;
    let mut sent = 0;
    let mut statuses = Vec::new();
    let mut rejected_at_the_cap = None;
    for _ in 0..20 {
        let reply = post(&url, &[PROTOBUF], large_spans(sent, SPANS_PER_EXPORT)).await;
        sent += SPANS_PER_EXPORT;
        statuses.push(reply.status);
        if reply.status == 200 {
            let response =
                ExportTraceServiceResponse::decode(reply.body).expect("an OTLP protobuf answer");
            if let Some(partial) = response.partial_success {
                rejected_at_the_cap = Some((partial.rejected_spans, partial.error_message));
                break;
            }
        }
    }
    let after_the_cap = post(&url, &[PROTOBUF], large_spans(sent, 1)).await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;

    let (rejected, message) = rejected_at_the_cap.expect("an export reached the cap");
    assert!(rejected > 0 && rejected <= SPANS_PER_EXPORT as i64);
    assert!(message.contains("bytes of spans"), "{message}");
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert_eq!(after_the_cap.status, 413);
    assert_eq!(
        after_the_cap.json()["error"]["code"],
        "issue_span_cap_reached"
    );

    // What came before the cap is kept, in order, and stops at the cap.
    let stored_bytes: usize = record
        .spans
        .iter()
        .map(|span| serde_json::to_vec(span).expect("a span as JSON").len())
        .sum();
    assert_eq!(stored_bytes as u64, record.span_bytes);
    assert!(
        stored_bytes <= cap,
        "{stored_bytes} bytes stored past {cap}"
    );
    assert!(
        stored_bytes > cap - 2 * 64 * 1024,
        "stopped well short of the cap"
    );
    let names: Vec<String> = record.spans.iter().map(|span| span.name.clone()).collect();
    let expected: Vec<String> = (0..names.len())
        .map(|number| format!("span {number}"))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(record.cap_reached, Some(SpanCap::Bytes));
    assert_eq!(
        record.dropped_spans, rejected as u64,
        "spans after the cap are dropped, not counted again"
    );
    let outcomes: Vec<(ExportOutcome, u16)> = record
        .exports
        .iter()
        .map(|export| (export.outcome, export.status))
        .collect();
    assert_eq!(
        outcomes.last(),
        Some(&(ExportOutcome::Rejected, 413)),
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes[outcomes.len() - 2],
        (ExportOutcome::Partial, 200),
        "{outcomes:?}"
    );
}

/// A gzip body of `inflated_bytes` zeros, compressed as it is written so the test never holds
/// the inflated form either.
fn gzip_bomb(inflated_bytes: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![0u8; 1024 * 1024];
    for _ in 0..inflated_bytes / chunk.len() {
        encoder.write_all(&chunk).expect("writing to memory");
    }
    encoder.finish().expect("finishing in memory")
}

#[tokio::test]
async fn a_gzip_body_inflating_past_the_limit_is_refused() {
    let limit = TraceIntakeConfig::default().max_body_bytes;
    let bomb = gzip_bomb(64 * 1024 * 1024);
    assert!(
        bomb.len() < limit,
        "the bomb itself is under the limit as sent"
    );
    let intake = start_intake().await;
    let access = intake.register_issue("issue-bomb");
    let url = format!("{}/v1/traces", access.url);
    let refused = post(&url, &[PROTOBUF, ("content-encoding", "gzip")], bomb).await;
    let after = post(&url, &[PROTOBUF], large_spans(0, 1)).await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;

    assert_eq!(refused.status, 413);
    assert_eq!(refused.json()["error"]["code"], "body_too_large");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("after gzip decoding"))
    );
    assert_eq!(after.status, 200, "the intake keeps serving the issue");
    assert_eq!(record.spans.len(), 1);
    assert_eq!(record.exports[0].status, 413);
    assert!(record.exports[0].gzip);
}

/// Waits for the intake to close `stream`: end of file, or a reset.
async fn wait_for_close(stream: &mut TcpStream) {
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(DEADLINE, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the intake kept the connection open past {DEADLINE:?}"),
        }
    }
}

#[tokio::test]
async fn half_sent_heads_and_idle_connections_are_closed() {
    let intake = start_intake().await;
    let access = intake.register_issue("issue-idle");
    let path = format!("/i/{}/v1/traces", access.token);
    let address = intake.local_addr();

    let mut half_sent = TcpStream::connect(address).await.expect("a connection");
    half_sent
        .write_all(format!("POST {path} HTTP/1.1\r\nhost: intake\r\ncontent-ty").as_bytes())
        .await
        .expect("a write");

    // A complete export on a kept-alive connection, answered, then left idle.
    let mut idle = TcpStream::connect(address).await.expect("a connection");
    let body = large_spans(0, 1);
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: intake\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    idle.write_all(head.as_bytes()).await.expect("a write");
    idle.write_all(&body).await.expect("a write");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = tokio::time::timeout(DEADLINE, idle.read(&mut buffer))
            .await
            .expect("an answer within the deadline")
            .expect("a readable connection");
        assert!(read > 0, "closed before answering");
        answer.extend_from_slice(&buffer[..read]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));

    wait_for_close(&mut half_sent).await;
    wait_for_close(&mut idle).await;
    let record = intake.finish_issue(&access.token);
    intake.shutdown().await;
    assert_eq!(record.spans.len(), 1);
    assert_eq!(
        record.exports.len(),
        1,
        "the half-sent head never became an export"
    );
}
