#!/usr/bin/env python3
"""A test agent that runs the statements its issue's `sql` field lists, in order, with psql as
the issue's database role, and answers "done"."""
import json
import os
import subprocess

issue = json.load(open(os.environ["AGENTPOD_ISSUE"]))
for statement in issue.get("sql", []):
    subprocess.run(["psql", os.environ["DATABASE_URL"], "-v", "ON_ERROR_STOP=1", "-qc", statement],
                   check=True)
with open(os.environ["AGENTPOD_OUTPUT"], "w") as output:
    json.dump({"answer": "done"}, output)
