//! OTLP trace messages to stored spans, decoded only as far as the issue has room: a request
//! can hold far more spans than an issue keeps, and a resource's attributes are copied into
//! every span of it, so decoding everything first would let a small request take a lot of memory.

use std::collections::BTreeMap;

use agentpod_store::{Span, SpanEvent, SpanKind, SpanStatus, SpanStatusCode};
use chrono::{DateTime, SecondsFormat, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::attribute_value::{attributes_to_json, hex_encode};
use crate::otlp_number::OtlpNumber;

/// How much more an issue may keep: spans, and bytes of spans as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpanRoom {
    pub(crate) spans: usize,
    pub(crate) bytes: usize,
}

/// A decoded span and its size as the run store writes it (its JSON).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SizedSpan {
    pub(crate) span: Span,
    pub(crate) stored_bytes: usize,
}

/// The spans of one request that fit the room, in order, and how many the request held.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DecodedSpans {
    pub(crate) spans: Vec<SizedSpan>,
    pub(crate) offered: usize,
}

/// The bytes of `value` as compact JSON, counted without writing the text anywhere.
pub(crate) fn json_size(value: &impl serde::Serialize) -> usize {
    struct ByteCounter(usize);
    impl std::io::Write for ByteCounter {
        fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
            self.0 += buffer.len();
            Ok(buffer.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = ByteCounter(0);
    // Spans hold only JSON-representable data, so writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Flattens a decoded export request into spans, each carrying its resource's attributes, and
/// stops at the first span that does not fit `room`: the rest are counted in `offered` only.
pub(crate) fn decode_spans(
    request: ExportTraceServiceRequest,
    attribute_cap: usize,
    room: SpanRoom,
) -> DecodedSpans {
    let offered = request
        .resource_spans
        .iter()
        .flat_map(|resource_spans| &resource_spans.scope_spans)
        .map(|scope_spans| scope_spans.spans.len())
        .sum();
    let mut decoded = DecodedSpans {
        spans: Vec::new(),
        offered,
    };
    let mut bytes_left = room.bytes;
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
        // The resource's JSON replaces the `{}` an empty map writes.
        let resource_bytes = json_size(&resource_attributes).saturating_sub(2);
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .map(|scope| scope.name)
                .filter(|name| !name.is_empty());
            for otlp_span in scope_spans.spans {
                if decoded.spans.len() >= room.spans {
                    return decoded;
                }
                let mut span = decode_span(otlp_span, attribute_cap, scope.clone());
                // Measured before the resource is copied in, so a span that does not fit never
                // costs the copy.
                let stored_bytes = json_size(&span) + resource_bytes;
                if stored_bytes > bytes_left {
                    return decoded;
                }
                bytes_left -= stored_bytes;
                span.resource_attributes = resource_attributes.clone();
                decoded.spans.push(SizedSpan { span, stored_bytes });
            }
        }
    }
    decoded
}

/// One span without its resource's attributes.
fn decode_span(
    otlp_span: opentelemetry_proto::tonic::trace::v1::Span,
    attribute_cap: usize,
    scope: Option<String>,
) -> Span {
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
            attributes: attributes_to_json(event.attributes, attribute_cap, &mut BTreeMap::new()),
        })
        .collect();
    let status = otlp_span
        .status
        .map_or_else(SpanStatus::unset, |status| SpanStatus {
            code: SpanStatusCode::from_otlp(status.code),
            message: Some(status.message).filter(|message| !message.is_empty()),
        });
    Span {
        trace_id: hex_encode(&otlp_span.trace_id),
        span_id: hex_encode(&otlp_span.span_id),
        parent_span_id: Some(hex_encode(&otlp_span.parent_span_id)).filter(|id| !id.is_empty()),
        name: otlp_span.name,
        kind: SpanKind::from_otlp(otlp_span.kind),
        start: format_unix_nanos(otlp_span.start_time_unix_nano),
        end: format_unix_nanos(otlp_span.end_time_unix_nano),
        duration_ms: duration_ms(otlp_span.start_time_unix_nano, otlp_span.end_time_unix_nano),
        attributes,
        events,
        status,
        resource_attributes: serde_json::Map::new(),
        scope,
        truncated_attributes,
    }
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
        let decoded = decode_spans(request, 1024, unlimited());
        assert_eq!(decoded.offered, 1);
        assert_eq!(decoded.spans.len(), 1);
        let span = &decoded.spans[0].span;
        assert_eq!(decoded.spans[0].stored_bytes, json_size(span));
        assert_eq!(span.trace_id, "01".repeat(16));
        assert_eq!(span.span_id, "02".repeat(8));
        assert_eq!(span.parent_span_id, None);
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.start, "2023-11-14T22:13:20.000000001Z");
        assert_eq!(span.duration_ms, 2.5);
        assert_eq!(span.resource_attributes["service.name"], "agent");
        assert_eq!(span.status.code, SpanStatusCode::Unset);
    }

    fn unlimited() -> SpanRoom {
        SpanRoom {
            spans: usize::MAX,
            bytes: usize::MAX,
        }
    }

    /// One resource with a large attribute and `count` small spans under it.
    fn request_with_large_resource(count: usize) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                    attributes: vec![crate::attribute_value::string_attribute(
                        "large",
                        "r".repeat(10_000),
                    )],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: (0..count)
                        .map(|index| OtlpSpan {
                            name: format!("span {index}"),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn sizes_count_the_copied_resource_and_decoding_stops_at_the_room() {
        let whole = decode_spans(request_with_large_resource(5), 64 * 1024, unlimited());
        assert_eq!(whole.spans.len(), 5);
        for sized in &whole.spans {
            assert_eq!(sized.stored_bytes, json_size(&sized.span));
            assert!(sized.stored_bytes > 10_000);
        }
        let two_and_a_half = whole.spans[0].stored_bytes * 5 / 2;
        let cut = decode_spans(
            request_with_large_resource(5),
            64 * 1024,
            SpanRoom {
                spans: usize::MAX,
                bytes: two_and_a_half,
            },
        );
        assert_eq!(cut.offered, 5);
        assert_eq!(cut.spans.len(), 2);
        let counted = decode_spans(
            request_with_large_resource(5),
            64 * 1024,
            SpanRoom {
                spans: 3,
                bytes: usize::MAX,
            },
        );
        assert_eq!(counted.spans.len(), 3);
    }

    #[test]
    fn an_end_before_the_start_gives_zero_duration() {
        assert_eq!(duration_ms(10, 5), 0.0);
    }
}
