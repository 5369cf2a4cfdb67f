"""A scripted agent for the tool benchmark (tests/end_to_end/tool_benchmark.rs), on the official
`mcp` SDK: it makes its issue's `steps` (tool calls) through the pod's tool gateway, changed as
its issue's `mode` says, and answers with the calls it made and what each gave, so the test can
grade the trajectory by the benchmark's own rule without agentpod.

Modes: `gold` makes the steps as given; `perturbed` changes the last write's arguments;
`reordered` makes the steps in reverse order; `inserted_failure` first makes a call the shop's
policy refuses (a return over the limit, which writes before it refuses).
"""
import asyncio
import json
import os

from mcp import ClientSession
try:  # the SDK renamed its client between major versions
    from mcp.client.streamable_http import streamable_http_client as connect
except ImportError:
    from mcp.client.streamable_http import streamablehttp_client as connect

WRITES = {"cancel_order", "return_order", "update_address", "execute"}
OTHER_REASON = {"no longer needed": "ordered by mistake", "ordered by mistake": "no longer needed"}


def perturbed(steps):
    steps = [dict(step, arguments=dict(step["arguments"])) for step in steps]
    writes = [step for step in steps if step["tool"] in WRITES]
    if not writes:
        return steps
    last = writes[-1]
    arguments = last["arguments"]
    if last["tool"] == "cancel_order":
        arguments["reason"] = OTHER_REASON[arguments["reason"]]
    elif last["tool"] == "update_address":
        arguments["address"] += ", Apt 2"
    elif last["tool"] == "return_order":
        arguments["order_id"] = "O6" if arguments["order_id"] == "O2" else "O2"
    else:
        arguments["sql"] = arguments["sql"].replace("customer called", "customer wrote")
    return steps


def planned(issue):
    steps = issue["steps"]
    mode = issue["mode"]
    if mode == "gold":
        return steps
    if mode == "perturbed":
        return perturbed(steps)
    if mode == "reordered":
        return list(reversed(steps))
    if mode == "inserted_failure":
        return [{"tool": "return_order", "arguments": {"order_id": "O7"}}] + steps
    raise SystemExit(f"unknown mode {mode!r}")


async def main():
    issue = json.load(open(os.environ["AGENTPOD_ISSUE"]))
    made = []
    async with connect(os.environ["AGENTPOD_MCP_URL"]) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await session.initialize()
            offered = {tool.name for tool in (await session.list_tools()).tools}
            for step in planned(issue):
                assert step["tool"] in offered, f"{step['tool']} is not offered: {sorted(offered)}"
                result = await session.call_tool(step["tool"], step["arguments"])
                text = "\n".join(block.text for block in result.content if block.type == "text")
                # The SDK renamed the flag between major versions.
                failed = getattr(result, "is_error", None)
                if failed is None:
                    failed = getattr(result, "isError", False)
                made.append(dict(step, error=bool(failed), result=text))
    with open(os.environ["AGENTPOD_OUTPUT"], "w") as output:
        json.dump({"calls": made}, output)


asyncio.run(main())
