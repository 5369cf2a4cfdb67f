#!/bin/bash
# A probe, not an agent: tries to open TCP connections to what an agent in a Swarm task must not
# reach (the test swarm's registry on the host, another node's swarm port, the host's address on
# the swarm's bridge) and answers with those it reached, or "none".
reached=()
for target in 192.168.211.1/5000 192.168.211.12/2377 192.168.211.1/22; do
  if timeout 2 bash -c "exec 3<>/dev/tcp/$target" 2>/dev/null; then
    reached+=("${target/\//:}")
  fi
done
answer="${reached[*]:-none}"
printf '{"answer": "%s"}\n' "$answer" >"$AGENTPOD_OUTPUT"
