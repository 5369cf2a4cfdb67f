"""Exports a few nested spans to the trace intake with the official OpenTelemetry Python SDK.

The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_EXPORTER_OTLP_COMPRESSION) exactly as an
agent's would. The spans are also kept in memory and printed on stdout as JSON, so the Rust test
can compare what the intake stored with what the SDK created.
"""

import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode


def main() -> int:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "test-agent", "agent.build": 42})
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test-agent.reasoning", "1.0")

    with tracer.start_as_current_span(
        "handle issue",
        attributes={
            "issue.id": "issue-17",
            "attempt": 2,
            "confidence": 0.75,
            "escalated": False,
            "labels": ["refund", "billing"],
        },
    ):
        with tracer.start_as_current_span("plan") as plan:
            plan.add_event("considered", {"option": "refund", "score": 3})
            with tracer.start_as_current_span("lookup order", kind=SpanKind.CLIENT) as lookup:
                lookup.set_attribute("db.query.text", "SELECT * FROM orders WHERE id = 7")
                lookup.set_status(Status(StatusCode.ERROR, "order not found"))
        with tracer.start_as_current_span("answer") as answer:
            answer.set_attribute("answer.length", 120)

    spans = memory.get_finished_spans()
    result = OTLPSpanExporter().export(spans)

    def hex_id(value, width):
        return format(value, f"0{width}x")

    printed = []
    for span in spans:
        printed.append(
            {
                "name": span.name,
                "trace_id": hex_id(span.context.trace_id, 32),
                "span_id": hex_id(span.context.span_id, 16),
                "parent_span_id": hex_id(span.parent.span_id, 16) if span.parent else None,
                "kind": span.kind.name.lower(),
                "start_unix_nano": span.start_time,
                "end_unix_nano": span.end_time,
                "attributes": {key: (list(value) if isinstance(value, tuple) else value)
                               for key, value in span.attributes.items()},
                "events": [
                    {"name": event.name, "attributes": dict(event.attributes)}
                    for event in span.events
                ],
                "status": span.status.status_code.name.lower(),
                "status_message": span.status.description,
                "resource": dict(span.resource.attributes),
                "scope": span.instrumentation_scope.name,
            }
        )
    json.dump({"result": result.name, "spans": printed}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
