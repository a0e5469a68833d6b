"""Demo MCP server built on the official Python SDK (mcp 1.x FastMCP), for interop tests.

Usage:
    python py_server.py --ws [--port PORT] [--path /mcp] [--timeout SECONDS]
        Serves MCP over WebSocket at ws://127.0.0.1:PORT/mcp with the SDK's
        `mcp.server.websocket.websocket_server` ASGI transport under uvicorn + starlette.
        --port 0 (the default) picks a free port. Once the socket accepts connections it
        prints exactly one line `LISTENING ws://127.0.0.1:PORT/mcp` to stdout (flushed).
    python py_server.py --stdio [--timeout SECONDS]
        Serves the same server over stdio (newline-delimited JSON-RPC); exits on stdin EOF.

Runs until killed (SIGTERM/SIGINT/SIGKILL), or until --timeout seconds have passed
(default 30; 0 disables it), after which it exits with status 3 so that a process that
a test forgot to kill cannot linger. Logs go to stderr.

The demo contract (the Rust demo server implements the same one):
  tools   add/subtract/multiply/divide(a: number, b: number) -> one text content with the
          number (integer form when integral, else Python's shortest float repr);
          divide by zero -> isError: true, text "division by zero".
          echo(text) -> text. slow_count(steps=3, interval_ms=200) -> progress 1..steps
          (total=steps, message "step i"), then "counted to {steps}"; stops when cancelled.
          list_roots() -> the client's root URIs joined by "\\n" (server sends roots/list).
          confirm(question) -> asks the user (elicitation/create, a form with one boolean
          "confirm") and answers "confirmed: {question}", "not confirmed: ...", "declined: ..."
          or "cancelled: ...".
          ping_client() -> "pong" (server sends ping to the client).
  resource demo://readme (text/plain, name "readme"): "This is the mcp-ws demo server."
  prompt   greet(name) -> one user message "Say hello to {name}."
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import socket
import sys
import warnings

# The SDK marks its WebSocket transport deprecated (removed in 2.x); keep stderr readable.
warnings.filterwarnings("ignore", category=DeprecationWarning)

import anyio  # noqa: E402
from mcp.server.fastmcp import Context, FastMCP  # noqa: E402
from mcp.types import CallToolResult, TextContent  # noqa: E402
from pydantic import AnyUrl, BaseModel, Field  # noqa: E402

log = logging.getLogger("py_server")

README_TEXT = "This is the mcp-ws demo server."

mcp = FastMCP("py-demo", log_level="WARNING")


def format_number(x: float) -> str:
    """Integer form when integral ("5", "-1"), else the shortest float repr ("2.5")."""
    if math.isfinite(x) and x == math.floor(x):
        return str(int(x))
    return repr(float(x))


def text_result(text: str, is_error: bool = False) -> CallToolResult:
    # Returning CallToolResult directly: exactly one text content, no structuredContent.
    return CallToolResult(content=[TextContent(type="text", text=text)], isError=is_error)


@mcp.tool(description="Add two numbers")
def add(a: float, b: float) -> CallToolResult:
    return text_result(format_number(a + b))


@mcp.tool(description="Subtract b from a")
def subtract(a: float, b: float) -> CallToolResult:
    return text_result(format_number(a - b))


@mcp.tool(description="Multiply two numbers")
def multiply(a: float, b: float) -> CallToolResult:
    return text_result(format_number(a * b))


@mcp.tool(description="Divide a by b")
def divide(a: float, b: float) -> CallToolResult:
    if b == 0:
        return text_result("division by zero", is_error=True)
    return text_result(format_number(a / b))


@mcp.tool(description="Echo the text back")
def echo(text: str) -> CallToolResult:
    return text_result(text)


@mcp.tool(description="Count to `steps`, sending a progress notification every `interval_ms`")
async def slow_count(ctx: Context, steps: int = 3, interval_ms: int = 200) -> CallToolResult:
    # Cancellation (notifications/cancelled) cancels this task's scope, which interrupts
    # the sleep, so the loop stops early.
    for i in range(1, steps + 1):
        await anyio.sleep(interval_ms / 1000)
        await ctx.report_progress(i, steps, f"step {i}")
    return text_result(f"counted to {steps}")


@mcp.tool(description="Ask the client for its roots and return their URIs, one per line")
async def list_roots(ctx: Context) -> CallToolResult:
    result = await ctx.session.list_roots()
    return text_result("\n".join(str(root.uri) for root in result.roots))


class ConfirmForm(BaseModel):
    confirm: bool = Field(title="Confirm")


@mcp.tool(description="Ask the user to confirm the question and answer what they chose")
async def confirm(ctx: Context, question: str) -> CallToolResult:
    answer = await ctx.elicit(message=question, schema=ConfirmForm)
    if answer.action == "accept":
        verdict = "confirmed" if answer.data.confirm else "not confirmed"
    elif answer.action == "decline":
        verdict = "declined"
    else:
        verdict = "cancelled"
    return text_result(f"{verdict}: {question}")


@mcp.tool(description="Tell the calling client that the resource at `uri` changed")
async def touch(ctx: Context, uri: str) -> CallToolResult:
    # One process, one session to tell: the Python SDK has no cross-session publish.
    await ctx.session.send_resource_updated(AnyUrl(uri))
    return text_result(f"touched {uri}")


@mcp.tool(description="Send a ping to the client; returns pong")
async def ping_client(ctx: Context) -> CallToolResult:
    await ctx.session.send_ping()
    return text_result("pong")


@mcp.resource("demo://readme", name="readme", mime_type="text/plain", description="About this server")
def readme() -> str:
    return README_TEXT


@mcp.prompt(name="greet", description="Greet someone")
def greet(name: str) -> str:
    return f"Say hello to {name}."


# ---------------------------------------------------------------------------
# transports


class McpWebSocketEndpoint:
    """ASGI app for one WebSocket route: runs one MCP server session per connection."""

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        from mcp.server.websocket import websocket_server

        server = mcp._mcp_server
        try:
            async with websocket_server(scope, receive, send) as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())
        except Exception:  # a broken connection must not take the server down
            log.exception("websocket session ended with an error")


async def serve_ws(port: int, path: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    app = Starlette(routes=[WebSocketRoute(path, McpWebSocketEndpoint())])

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    real_port = sock.getsockname()[1]

    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
        # uvicorn defaults, spelled out: 20 s WebSocket pings, 16 MiB max message.
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_max_size=16 * 1024 * 1024,
    )
    server = uvicorn.Server(config)

    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:
            if server.should_exit:
                raise RuntimeError("uvicorn failed to start")
            await anyio.sleep(0.01)
        print(f"LISTENING ws://127.0.0.1:{real_port}{path}", flush=True)


async def main_async(args: argparse.Namespace) -> None:
    async def run() -> None:
        if args.stdio:
            await mcp.run_stdio_async()
        else:
            await serve_ws(args.port, args.path)

    if args.timeout and args.timeout > 0:
        with anyio.move_on_after(args.timeout) as scope:
            await run()
        if scope.cancelled_caught:
            log.error("py_server: --timeout of %s s reached, exiting", args.timeout)
            sys.stderr.flush()
            os._exit(3)
    else:
        await run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--ws", action="store_true", help="serve over WebSocket on 127.0.0.1")
    mode.add_argument("--stdio", action="store_true", help="serve over stdio")
    parser.add_argument("--port", type=int, default=0, help="port for --ws (0 = pick a free one)")
    parser.add_argument("--path", default="/mcp", help="WebSocket path for --ws (default /mcp)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="exit (status 3) after this many seconds; 0 = never (default 30)"
    )
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    try:
        anyio.run(main_async, args)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
