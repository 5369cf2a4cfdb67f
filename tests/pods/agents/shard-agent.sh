#!/bin/sh
# The sharding tests' deterministic agent (shard-agent.py) as a POSIX shell script, for images
# without Python: its answer depends on the issue alone, right when the issue's `passes` is true.
# Its first argument, if any, is how many seconds to think first. Nothing here is a real agent.
[ -z "${1:-}" ] || sleep "$1"
issue=$(tr -d '\n' <"$AGENTPOD_ISSUE")
want=$(printf '%s' "$issue" | sed -n 's/.*"want": *"\([^"]*\)".*/\1/p')
case $issue in
  *'"passes": true'* | *'"passes":true'*) answer=$want ;;
  *) answer="not $want" ;;
esac
printf '{"answer": "%s"}\n' "$answer" >"$AGENTPOD_OUTPUT"
