//! Added latency of the trace intake: an OTLP protobuf export of five spans posted to the intake
//! against the same request posted to a bare HTTP server that only answers 200, in the same run.
//! Paced at ~500 exports/s for ~5 s (p50/p99 of each, and the difference), then unpaced from 8
//! concurrent clients for ~3 s (exports/s sustained). Prints figures, asserts nothing.
//!
//! Run with `cargo bench --profile dev -p agentpod-trace`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use agentpod_trace::{TraceIntake, TraceIntakeConfig};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const RATE_PER_SECOND: u32 = 500;
const PACED_FOR: Duration = Duration::from_secs(5);
const FLOOD_FOR: Duration = Duration::from_secs(3);
const FLOOD_CLIENTS: usize = 8;

/// The workspace's one HTTP client (reqwest), as an exporter in a Rust agent would use it.
fn http_client() -> reqwest::Client {
    // reqwest is built without a bundled crypto provider (see the workspace's Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
}

fn export_body() -> Bytes {
    let spans = (1..=5u8)
        .map(|id| Span {
            trace_id: vec![1; 16],
            span_id: vec![id; 8],
            parent_span_id: if id == 1 { Vec::new() } else { vec![1; 8] },
            name: format!("step {id}"),
            kind: 1,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_050_000_000,
            attributes: vec![KeyValue {
                key: "step.detail".to_owned(),
                value: Some(AnyValue {
                    value: Some(Value::StringValue("x".repeat(200))),
                }),
                key_strindex: 0,
            }],
            ..Span::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    Bytes::from(request.encode_to_vec())
}

async fn post(client: &reqwest::Client, url: &str, body: &Bytes) -> Duration {
    let started = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body.clone())
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let _ = response.bytes().await;
    assert!(status.is_success(), "unexpected status {status}");
    started.elapsed()
}

/// A server that reads the body and answers 200, standing in for "no intake in between".
async fn start_bare_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("a bound address");
    let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move {
        let _ = body.len();
        ""
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    address
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Alternates the two targets at the paced rate so both see the same machine state.
async fn paced(client: &reqwest::Client, targets: [&str; 2], body: &Bytes) -> [Vec<Duration>; 2] {
    let mut samples = [Vec::new(), Vec::new()];
    let interval = Duration::from_secs(1) / RATE_PER_SECOND;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = Instant::now() + PACED_FOR;
    let mut turn = 0usize;
    while Instant::now() < deadline {
        ticker.tick().await;
        let which = turn % 2;
        samples[which].push(post(client, targets[which], body).await);
        turn += 1;
    }
    for sample in &mut samples {
        sample.sort_unstable();
    }
    samples
}

async fn flood(url: &str, body: &Bytes) -> f64 {
    let started = Instant::now();
    let deadline = started + FLOOD_FOR;
    let workers: Vec<_> = (0..FLOOD_CLIENTS)
        .map(|_| {
            let url = url.to_owned();
            let body = body.clone();
            tokio::spawn(async move {
                let client = http_client();
                let mut count = 0u64;
                while Instant::now() < deadline {
                    post(&client, &url, &body).await;
                    count += 1;
                }
                count
            })
        })
        .collect();
    let mut total = 0u64;
    for worker in workers {
        total += worker.await.expect("a flood worker finishes");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let config = TraceIntakeConfig {
        // The bench sends far more spans than an issue would; none may be dropped.
        max_spans_per_issue: usize::MAX,
        ..TraceIntakeConfig::default()
    };
    let intake = TraceIntake::start("127.0.0.1:0".parse().expect("an address"), config)
        .await
        .expect("the intake starts");
    let access = intake.register_issue("bench");
    let intake_url = format!("{}/v1/traces", access.url);
    let bare_url = format!("http://{}/v1/traces", start_bare_server().await);
    let body = export_body();
    let client = http_client();

    // Warm the connections and the allocator.
    for _ in 0..200 {
        post(&client, &intake_url, &body).await;
        post(&client, &bare_url, &body).await;
    }
    let [intake_samples, bare_samples] = paced(&client, [&intake_url, &bare_url], &body).await;
    println!(
        "trace intake, export of 5 spans ({} bytes), paced at {RATE_PER_SECOND}/s for {} s:",
        body.len(),
        PACED_FOR.as_secs()
    );
    for (label, samples) in [("bare server", &bare_samples), ("intake", &intake_samples)] {
        println!(
            "  {label:<12} n={:<5} p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            samples.len(),
            percentile(samples, 0.50),
            percentile(samples, 0.99),
            percentile(samples, 1.0)
        );
    }
    println!(
        "  added        p50 {:.3} ms  p99 {:.3} ms",
        percentile(&intake_samples, 0.50) - percentile(&bare_samples, 0.50),
        percentile(&intake_samples, 0.99) - percentile(&bare_samples, 0.99)
    );
    let bare_rate = flood(&bare_url, &body).await;
    let intake_rate = flood(&intake_url, &body).await;
    println!(
        "  sustained ({FLOOD_CLIENTS} clients, {} s): bare server {bare_rate:.0}/s, intake {intake_rate:.0}/s",
        FLOOD_FOR.as_secs()
    );
    let record = intake.finish_issue(&access.token);
    println!(
        "  intake stored {} spans from {} exports",
        record.spans.len(),
        record.exports.len()
    );
    intake.shutdown().await;
}
