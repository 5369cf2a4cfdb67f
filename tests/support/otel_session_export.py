"""Writes one agent session's trace as an OTLP/JSON file, with the official OpenTelemetry Python
SDK: spans made by its tracer, collected by its in-memory exporter, encoded by its OTLP encoder
(`opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans`, the ExportTraceServiceRequest
the OTLP/HTTP exporter sends) and written in protobuf's JSON mapping (enums as numbers), with the trace and span ids
as hex as the OTLP/JSON encoding requires (the SDK has no file exporter for OTLP/JSON).

The session follows the GenAI conventions: an `invoke_agent` span with the conversation id, a
`chat` span with `gen_ai.input.messages`, and two database spans (`db.query.text`,
`db.collection.name`) whose rows the agent's instrumentation recorded in `agentpod.db.rows`.

Usage: otel_session_export.py OUTPUT.json
"""
import base64
import json
import sys

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({"service.name": "support-agent"}))
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("support-agent")

messages = [
    {"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Item 7 shows the wrong name; item 8 too?"}]},
]
with tracer.start_as_current_span("invoke_agent support-agent") as agent:
    agent.set_attribute("gen_ai.operation.name", "invoke_agent")
    agent.set_attribute("gen_ai.conversation.id", "conv-7")
    with tracer.start_as_current_span("chat gpt-4o") as chat:
        chat.set_attribute("gen_ai.operation.name", "chat")
        chat.set_attribute("gen_ai.request.model", "gpt-4o")
        chat.set_attribute("gen_ai.input.messages", json.dumps(messages))
    with tracer.start_as_current_span("SELECT items") as read:
        read.set_attribute("db.system.name", "postgresql")
        read.set_attribute("db.query.text", "SELECT id, name FROM items WHERE id = $1")
        read.set_attribute("db.collection.name", "items")
        read.set_attribute("agentpod.db.rows", json.dumps([{"id": 7, "name": "O'Brien; widget"}]))
    with tracer.start_as_current_span("UPDATE items") as write:
        write.set_attribute("db.system.name", "postgresql")
        write.set_attribute("db.query.text", "UPDATE items SET name = $1 WHERE id = $2")
        write.set_attribute("db.collection.name", "items")
        write.set_attribute("agentpod.db.rows", json.dumps([{"id": 8, "name": "gadget"}]))
provider.shutdown()

request = MessageToDict(encode_spans(exporter.get_finished_spans()), use_integers_for_enums=True)


def hex_ids(value):
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex() if key in ("traceId", "spanId", "parentSpanId") and item else hex_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [hex_ids(item) for item in value]
    return value


with open(sys.argv[1], "w") as output:
    json.dump(hex_ids(request), output, indent=2)
