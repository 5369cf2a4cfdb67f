"""A tiny stdio MCP server, written with the official SDK, for the gateway to proxy."""

try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server

server = Server("helper")


@server.tool()
def echo(text: str) -> str:
    """Returns the text it was given."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
def long_text(size: int) -> str:
    """Returns `size` letters, for the gateway's result cap."""
    return "h" * size


if __name__ == "__main__":
    server.run()
