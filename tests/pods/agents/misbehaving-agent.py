#!/usr/bin/python3
"""A deliberately misbehaving agent for the end-to-end tests.

The issue's `behaviour` field says how to behave: answer right or wrong, crash, exit non-zero,
raise an exception
(its traceback under a banner), hang (with a grandchild), flood stdout, write nothing, write garbage, read the database, or
report its environment. Nothing here is a real agent.
"""
import json
import os
import signal
import subprocess
import sys
import time

issue = json.load(open(os.environ["AGENTPOD_ISSUE"]))
output_path = os.environ["AGENTPOD_OUTPUT"]
behaviour = issue["behaviour"]


def answer(value, **extra):
    with open(output_path, "w") as output:
        json.dump({"answer": value, **extra}, output)


if behaviour == "correct":
    answer(issue["want"])
elif behaviour == "wrong":
    answer("not " + issue["want"])
elif behaviour == "crash":
    os.kill(os.getpid(), signal.SIGSEGV)
elif behaviour == "exit":
    print("giving up on this one", file=sys.stderr)
    sys.exit(3)
elif behaviour == "traceback":
    # An uncaught exception: Python prints its traceback, then the banner runs at exit.
    import atexit
    atexit.register(lambda: print("-" * 40 + "\n", file=sys.stderr))
    raise ValueError("order #W1234 has no item 42")
elif behaviour == "hang":
    # A grandchild the test can find on the host by its command line (process ids differ
    # inside the sandbox's PID namespace): `sleep 600.<digits of this run>`.
    marker = "600." + str(sum(map(ord, os.environ["AGENTPOD_RUN_ID"])) % 100000)
    subprocess.Popen(["sleep", marker], start_new_session=True)
    with open(os.path.join(os.environ["HOME"], "grandchild.marker"), "w") as marker_file:
        marker_file.write(marker)
    time.sleep(600)
elif behaviour == "flood":
    line = "x" * 1023 + "\n"
    for _ in range(5 * 1024):
        sys.stdout.write(line)
    sys.stdout.flush()
    answer(issue["want"])
elif behaviour == "silent":
    pass
elif behaviour == "malformed":
    with open(output_path, "w") as output:
        output.write("{not json")
elif behaviour == "database":
    count = subprocess.run(
        ["psql", os.environ["DATABASE_URL"], "-tAc", "SELECT count(*) FROM items"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    answer(count)
elif behaviour == "env":
    answer(issue["want"], environment=sorted(os.environ))
elif behaviour == "slow":
    time.sleep(1)
    answer(issue["want"])
elif behaviour == "marked-slow":
    # Sleeps in a process the test can find on the host by its command line, so it can act
    # while the issue runs.
    subprocess.run(["sleep", issue["marker"]])
    answer(issue["want"])
else:
    sys.exit(f"unknown behaviour {behaviour}")
