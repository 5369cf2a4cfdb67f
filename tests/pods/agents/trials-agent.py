#!/usr/bin/python3
"""An agent whose answer depends on how often it has already tried the issue, for the `--trials`
end-to-end tests. Nothing here is a real agent.

Its first argument is a directory shared by every attempt. Each attempt claims the next attempt
number for its issue there (creating `<issue>.<n>` exclusively, so attempts in parallel pods never
share a number), and answers right only when that number is in the issue's `passes` list. Which
trial gets which number may vary with the pods' timing; how many attempts pass does not.
"""
import json
import os
import sys

issue = json.load(open(os.environ["AGENTPOD_ISSUE"]))
counters = sys.argv[1]
issue_id = os.environ["AGENTPOD_ISSUE_ID"]
attempt = 1
while True:
    try:
        os.close(os.open(os.path.join(counters, f"{issue_id}.{attempt}"),
                         os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        break
    except FileExistsError:
        attempt += 1
answer = issue["want"] if attempt in issue["passes"] else "not " + issue["want"]
with open(os.environ["AGENTPOD_OUTPUT"], "w") as output:
    json.dump({"answer": answer, "attempt": attempt}, output)
