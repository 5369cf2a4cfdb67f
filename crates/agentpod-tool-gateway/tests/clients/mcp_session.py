"""An agent's side of the tool gateway, with the official MCP Python SDK.

Connects to AGENTPOD_MCP_URL over streamable HTTP, lists the tools, makes the calls given as a
JSON list in AGENTPOD_TEST_CALLS ([{"tool": ..., "arguments": {...}}, ...]) one after another,
and prints what it saw as one JSON object on stdout.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession

try:  # mcp 2.x
    from mcp.client.streamable_http import streamable_http_client as connect
except ImportError:  # mcp 1.x
    from mcp.client.streamable_http import streamablehttp_client as connect

try:
    from mcp.shared.exceptions import MCPError as ProtocolError
except ImportError:
    from mcp.shared.exceptions import McpError as ProtocolError


def block_text(block):
    if getattr(block, "type", None) == "text":
        return block.text
    return json.dumps(block.model_dump(mode="json", by_alias=True, exclude_none=True))


async def main():
    url = os.environ["AGENTPOD_MCP_URL"]
    calls = json.loads(os.environ.get("AGENTPOD_TEST_CALLS", "[]"))
    seen = {"tools": {}, "calls": []}
    async with connect(url) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            for tool in listed.tools:
                seen["tools"][tool.name] = {
                    "description": tool.description,
                    "input_schema": tool.input_schema if hasattr(tool, "input_schema") else tool.inputSchema,
                }
            for call in calls:
                entry = {"tool": call["tool"], "arguments": call.get("arguments", {})}
                try:
                    result = await session.call_tool(call["tool"], call.get("arguments", {}))
                    is_error = result.is_error if hasattr(result, "is_error") else result.isError
                    entry["is_error"] = bool(is_error)
                    entry["text"] = "\n".join(block_text(block) for block in result.content)
                except ProtocolError as error:
                    entry["protocol_error"] = str(error)
                seen["calls"].append(entry)
    json.dump(seen, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
