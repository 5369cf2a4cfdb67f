#!/usr/bin/python3
"""A deterministic agent for the sharding end-to-end tests: its answer depends on the issue alone
(right when the issue's `passes` is true), so the same run gives the same outcomes on one machine
or spread over several. Its first argument, if any, is how many seconds to think first, so a test
can kill a run half-way. Nothing here is a real agent."""
import json
import os
import sys
import time

issue = json.load(open(os.environ["AGENTPOD_ISSUE"]))
if len(sys.argv) > 1:
    time.sleep(float(sys.argv[1]))
answer = issue["want"] if issue["passes"] else "not " + issue["want"]
with open(os.environ["AGENTPOD_OUTPUT"], "w") as output:
    json.dump({"answer": answer}, output)
