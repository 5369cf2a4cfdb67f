"""Drives the LLM gateway with the official OpenAI SDK.

Usage: openai_client.py SCENARIO...  (chat, chat_stream, chat_stream_usage, tools, responses,
responses_stream, web_search, remote_image). Reads OPENAI_BASE_URL, OPENAI_API_KEY and AGENTPOD_TEST_MODEL. Prints one JSON
line per model call: the scenario, the usage the client saw (null when the stream showed none),
the text and the tool calls.
"""

import json
import os
import sys

import openai

MODEL = os.environ.get("AGENTPOD_TEST_MODEL", "agentpod-stand-in")
client = openai.OpenAI(max_retries=0, timeout=30)

TOOLS = [{
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look an order up",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}]


def emit(scenario, usage, text=None, tool_calls=None, **extra):
    line = {"scenario": scenario, "usage": usage, "text": text, "tool_calls": tool_calls or []}
    line.update(extra)
    print(json.dumps(line), flush=True)


def dump(usage):
    return None if usage is None else usage.model_dump()


def chat():
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello there, gateway"}])
    emit("chat", dump(reply.usage), reply.choices[0].message.content,
         system_fingerprint=reply.system_fingerprint, model=reply.model)


def chat_stream(include_usage):
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Stream me a hello"}], stream=True, **options)
    text, usage, empty_chunks = "", None, 0
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            empty_chunks += 1
        for choice in chunk.choices:
            text += choice.delta.content or ""
    emit("chat_stream_usage" if include_usage else "chat_stream", dump(usage), text,
         empty_chunks=empty_chunks)


def tools():
    messages = [{"role": "user", "content": "Where is my refund for order 42?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    calls = first.choices[0].message.tool_calls or []
    emit("tools", dump(first.usage), first.choices[0].message.content,
         [{"name": call.function.name, "arguments": call.function.arguments} for call in calls])
    if not calls:
        return
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": "order 42: refunded on May 3"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    emit("tools", dump(second.usage), second.choices[0].message.content)


def responses():
    reply = client.responses.create(model=MODEL, input="Hello from the responses API")
    emit("responses", dump(reply.usage), reply.output_text)


def responses_stream():
    stream = client.responses.create(model=MODEL, input="Stream from the responses API", stream=True)
    text, usage = "", None
    for event in stream:
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            usage = event.response.usage
    emit("responses_stream", dump(usage), text)


def web_search():
    # A provider-side tool: the gateway must refuse it before the provider sees it.
    reply = client.responses.create(model=MODEL, input="Search the web", tools=[{"type": "web_search"}])
    emit("web_search", dump(reply.usage), reply.output_text)


def remote_image():
    # An image the provider would fetch from outside the pod.
    content = [{"type": "text", "text": "What is in this picture?"},
               {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])
    emit("remote_image", dump(reply.usage), reply.choices[0].message.content)


SCENARIOS = {
    "chat": chat,
    "chat_stream": lambda: chat_stream(False),
    "chat_stream_usage": lambda: chat_stream(True),
    "tools": tools,
    "responses": responses,
    "responses_stream": responses_stream,
    "web_search": web_search,
    "remote_image": remote_image,
}

for name in sys.argv[1:]:
    try:
        SCENARIOS[name]()
    except openai.APIStatusError as error:
        emit(name, None, error_status=error.status_code, error=str(error))
    except openai.APIError as error:
        emit(name, None, error_status=None, error=str(error))
