//! OTLP trace messages to stored spans.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::attribute_value::{attributes_to_json, hex_encode};
use crate::span::{Span, SpanEvent, SpanKind, SpanStatus, SpanStatusCode};

/// Flattens a decoded export request into spans, each carrying its resource's attributes.
pub(crate) fn decode_spans(request: ExportTraceServiceRequest, attribute_cap: usize) -> Vec<Span> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let mut ignored = BTreeMap::new();
        let resource_attributes = attributes_to_json(
            resource_spans
                .resource
                .map(|resource| resource.attributes)
                .unwrap_or_default(),
            attribute_cap,
            &mut ignored,
        );
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .map(|scope| scope.name)
                .filter(|name| !name.is_empty());
            for otlp_span in scope_spans.spans {
                let mut truncated_attributes = BTreeMap::new();
                let attributes = attributes_to_json(
                    otlp_span.attributes,
                    attribute_cap,
                    &mut truncated_attributes,
                );
                let events = otlp_span
                    .events
                    .into_iter()
                    .map(|event| SpanEvent {
                        name: event.name,
                        time: format_unix_nanos(event.time_unix_nano),
                        attributes: attributes_to_json(
                            event.attributes,
                            attribute_cap,
                            &mut BTreeMap::new(),
                        ),
                    })
                    .collect();
                let status = otlp_span
                    .status
                    .map_or_else(SpanStatus::unset, |status| SpanStatus {
                        code: SpanStatusCode::from_otlp(status.code),
                        message: Some(status.message).filter(|message| !message.is_empty()),
                    });
                spans.push(Span {
                    trace_id: hex_encode(&otlp_span.trace_id),
                    span_id: hex_encode(&otlp_span.span_id),
                    parent_span_id: Some(hex_encode(&otlp_span.parent_span_id))
                        .filter(|id| !id.is_empty()),
                    name: otlp_span.name,
                    kind: SpanKind::from_otlp(otlp_span.kind),
                    start: format_unix_nanos(otlp_span.start_time_unix_nano),
                    end: format_unix_nanos(otlp_span.end_time_unix_nano),
                    duration_ms: duration_ms(
                        otlp_span.start_time_unix_nano,
                        otlp_span.end_time_unix_nano,
                    ),
                    attributes,
                    events,
                    status,
                    resource_attributes: resource_attributes.clone(),
                    scope: scope.clone(),
                    truncated_attributes,
                });
            }
        }
    }
    spans
}

pub(crate) fn format_unix_nanos(nanos: u64) -> String {
    // Past year 2262 nanoseconds overflow i64; such a time can only be garbage, so clamp it.
    let nanos = i64::try_from(nanos).unwrap_or(i64::MAX);
    DateTime::<Utc>::from_timestamp_nanos(nanos).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Milliseconds between two instants in nanoseconds; zero when the end precedes the start.
fn duration_ms(start: u64, end: u64) -> f64 {
    end.saturating_sub(start) as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};

    #[test]
    fn spans_keep_ids_times_and_resource() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                    attributes: vec![crate::attribute_value::string_attribute(
                        "service.name",
                        "agent",
                    )],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![OtlpSpan {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        name: "step".to_owned(),
                        kind: 3,
                        start_time_unix_nano: 1_700_000_000_000_000_001,
                        end_time_unix_nano: 1_700_000_000_002_500_001,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let spans = decode_spans(request, 1024);
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.trace_id, "01".repeat(16));
        assert_eq!(span.span_id, "02".repeat(8));
        assert_eq!(span.parent_span_id, None);
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.start, "2023-11-14T22:13:20.000000001Z");
        assert_eq!(span.duration_ms, 2.5);
        assert_eq!(span.resource_attributes["service.name"], "agent");
        assert_eq!(span.status.code, SpanStatusCode::Unset);
    }

    #[test]
    fn an_end_before_the_start_gives_zero_duration() {
        assert_eq!(duration_ms(10, 5), 0.0);
    }
}
