# The MCP server tests/valid/gateways.yaml names: the spec checks that it exists; it never runs.
