"""Drives the LLM gateway with the official Anthropic SDK.

Usage: anthropic_client.py SCENARIO...  (messages, messages_stream, tools, web_fetch). Reads
ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY and AGENTPOD_TEST_MODEL. Prints one JSON line per model call
with the usage the client saw, the text and the tool calls.
"""

import json
import os
import sys

import anthropic

MODEL = os.environ.get("AGENTPOD_TEST_MODEL", "agentpod-stand-in")
client = anthropic.Anthropic(max_retries=0, timeout=30)

TOOLS = [{
    "name": "lookup_order",
    "description": "Look an order up",
    "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
}]


def emit(scenario, usage, text=None, tool_calls=None, **extra):
    line = {"scenario": scenario, "usage": usage, "text": text, "tool_calls": tool_calls or []}
    line.update(extra)
    print(json.dumps(line), flush=True)


def usage_of(message):
    usage = message.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens or 0,
    }


def text_of(message):
    return "".join(block.text for block in message.content if block.type == "text")


def messages():
    reply = client.messages.create(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Hello there, gateway"}])
    emit("messages", usage_of(reply), text_of(reply), model=reply.model)


def messages_stream():
    with client.messages.stream(
            model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Stream me a hello"}]) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    emit("messages_stream", usage_of(final), streamed_text)


def tools():
    history = [{"role": "user", "content": "Where is my refund for order 42?"}]
    first = client.messages.create(model=MODEL, max_tokens=256, messages=history, tools=TOOLS)
    uses = [block for block in first.content if block.type == "tool_use"]
    emit("tools", usage_of(first), text_of(first),
         [{"name": use.name, "arguments": json.dumps(use.input, sort_keys=True)} for use in uses])
    if not uses:
        return
    history.append({"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]})
    history.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": uses[0].id, "content": "order 42: refunded on May 3"}]})
    second = client.messages.create(model=MODEL, max_tokens=256, messages=history, tools=TOOLS)
    emit("tools", usage_of(second), text_of(second))


def web_fetch():
    # A server tool: the gateway must refuse it before the provider sees it.
    reply = client.messages.create(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Fetch https://example.com"}],
        tools=[{"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 1}])
    emit("web_fetch", usage_of(reply), text_of(reply))


SCENARIOS = {"messages": messages, "messages_stream": messages_stream, "tools": tools,
             "web_fetch": web_fetch}

for name in sys.argv[1:]:
    try:
        SCENARIOS[name]()
    except anthropic.APIStatusError as error:
        emit(name, None, error_status=error.status_code, error=str(error))
    except anthropic.APIError as error:
        emit(name, None, error_status=None, error=str(error))
