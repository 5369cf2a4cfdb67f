"""An agent built on the official SDKs, for the end-to-end gateway tests: the `openai` and
`anthropic` clients (model calls through the pod's LLM gateway), the `mcp` client (tools through
the tool gateway) and the OpenTelemetry SDK (its own span, to the trace intake). It reports what
the SDKs told it — tokens and tool results — so the test can compare with what agentpod counted.
"""
import asyncio
import json
import os

import anthropic
import openai
from mcp import ClientSession
try:  # the SDK renamed its client between major versions
    from mcp.client.streamable_http import streamable_http_client as connect
except ImportError:
    from mcp.client.streamable_http import streamablehttp_client as connect
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

issue = json.load(open(os.environ["AGENTPOD_ISSUE"]))
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("sdk-agent")
seen = {"input_tokens": 0, "output_tokens": 0, "llm_calls": 0, "tool_calls": 0}


async def use_tools():
    async with connect(os.environ["AGENTPOD_MCP_URL"]) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            assert "query" in [tool.name for tool in tools.tools]
            counted = await session.call_tool("query", {"sql": "SELECT count(*) AS n FROM items"})
            await session.call_tool("list_tables", {})
            seen["tool_calls"] += 2
            return counted.content[0].text


with tracer.start_as_current_span("sdk-agent.triage") as span:
    span.set_attribute("issue.id", issue["id"])
    chat = openai.OpenAI()
    reply = chat.chat.completions.create(
        model="agentpod-stand-in", messages=[{"role": "user", "content": f"Triage {issue['id']}"}]
    )
    seen["input_tokens"] += reply.usage.prompt_tokens
    seen["output_tokens"] += reply.usage.completion_tokens
    stream = chat.chat.completions.create(
        model="agentpod-stand-in",
        messages=[{"role": "user", "content": "Say more"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.usage:
            seen["input_tokens"] += chunk.usage.prompt_tokens
            seen["output_tokens"] += chunk.usage.completion_tokens
    message = anthropic.Anthropic().messages.create(
        model="agentpod-stand-in", max_tokens=100, messages=[{"role": "user", "content": "And you?"}]
    )
    seen["input_tokens"] += message.usage.input_tokens
    seen["output_tokens"] += message.usage.output_tokens
    seen["llm_calls"] = 3
    counted = asyncio.run(use_tools())

provider.shutdown()
with open(os.environ["AGENTPOD_OUTPUT"], "w") as output:
    json.dump({"answer": issue["want"], "seen": seen, "count": counted}, output)
