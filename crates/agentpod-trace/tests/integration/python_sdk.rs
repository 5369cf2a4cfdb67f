//! The official OpenTelemetry Python SDK exports nested spans; the intake must store exactly
//! what the SDK created.

use agentpod_trace::{ExportOutcome, PayloadEncoding, Span, SpanStatusCode};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::support::{run_client, start_intake};

fn rfc3339(nanos: &Value) -> String {
    let nanos = nanos.as_i64().expect("times are integers");
    DateTime::<Utc>::from_timestamp_nanos(nanos).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn assert_same_span(stored: &Span, created: &Value) {
    let name = created["name"].as_str().unwrap();
    assert_eq!(stored.name, name);
    assert_eq!(
        stored.trace_id,
        created["trace_id"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        stored.parent_span_id.as_deref(),
        created["parent_span_id"].as_str(),
        "{name}"
    );
    assert_eq!(
        serde_json::to_value(stored.kind).unwrap(),
        created["kind"],
        "{name}"
    );
    assert_eq!(stored.start, rfc3339(&created["start_unix_nano"]), "{name}");
    assert_eq!(stored.end, rfc3339(&created["end_unix_nano"]), "{name}");
    let start = created["start_unix_nano"].as_u64().unwrap();
    let end = created["end_unix_nano"].as_u64().unwrap();
    assert_eq!(
        stored.duration_ms,
        (end - start) as f64 / 1_000_000.0,
        "{name}"
    );
    assert_eq!(
        Value::Object(stored.attributes.clone()),
        created["attributes"],
        "{name}"
    );
    assert_eq!(
        Value::Object(stored.resource_attributes.clone()),
        created["resource"],
        "{name}"
    );
    assert_eq!(stored.scope.as_deref(), created["scope"].as_str(), "{name}");
    let created_events = created["events"].as_array().unwrap();
    assert_eq!(stored.events.len(), created_events.len(), "{name}");
    for (event, created_event) in stored.events.iter().zip(created_events) {
        assert_eq!(event.name, created_event["name"].as_str().unwrap());
        assert_eq!(
            Value::Object(event.attributes.clone()),
            created_event["attributes"]
        );
    }
    assert_eq!(
        serde_json::to_value(stored.status.code).unwrap(),
        created["status"],
        "{name}"
    );
    assert_eq!(
        stored.status.message.as_deref(),
        created["status_message"].as_str(),
        "{name}"
    );
}

async fn export_and_compare(compression: Option<&str>) {
    let intake = start_intake().await;
    let access = intake.register_issue("issue-17");
    // A second issue proves that one token never sees another's spans.
    let other = intake.register_issue("issue-18");
    let mut environment = access.environment();
    if let Some(compression) = compression {
        environment.push((
            "OTEL_EXPORTER_OTLP_COMPRESSION".to_owned(),
            compression.to_owned(),
        ));
    }
    let printed = run_client("nested_spans.py", &environment).await;
    let record = intake.finish_issue(&access.token);
    let other_record = intake.finish_issue(&other.token);
    intake.shutdown().await;

    assert_eq!(printed["result"], "SUCCESS");
    let created = printed["spans"].as_array().unwrap();
    assert_eq!(created.len(), 4);
    assert_eq!(record.issue_id, "issue-17");
    assert_eq!(record.spans.len(), created.len());
    for created_span in created {
        let span_id = created_span["span_id"].as_str().unwrap();
        let stored = record
            .spans
            .iter()
            .find(|span| span.span_id == span_id)
            .unwrap_or_else(|| panic!("span {span_id} was not stored"));
        assert_same_span(stored, created_span);
    }
    let lookup = record
        .spans
        .iter()
        .find(|span| span.name == "lookup order")
        .unwrap();
    assert_eq!(lookup.status.code, SpanStatusCode::Error);

    assert_eq!(record.exports.len(), 1);
    let export = &record.exports[0];
    assert_eq!(export.encoding, PayloadEncoding::Protobuf);
    assert_eq!(export.gzip, compression == Some("gzip"));
    assert_eq!(export.outcome, ExportOutcome::Accepted);
    assert_eq!(export.status, 200);
    assert_eq!(export.spans_accepted, 4);
    assert!(export.body_bytes > 0);

    assert_eq!(other_record.issue_id, "issue-18");
    assert!(other_record.spans.is_empty());
    assert!(other_record.exports.is_empty());
}

#[tokio::test]
async fn python_sdk_spans_are_stored_as_created() {
    export_and_compare(None).await;
}

#[tokio::test]
async fn python_sdk_gzip_exports_are_decoded() {
    export_and_compare(Some("gzip")).await;
}
