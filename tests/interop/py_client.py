"""Interop client: drives a demo MCP server over WebSocket with the official Python SDK (mcp 1.x).

Usage:
    python py_client.py URL [--skip-roots] [--timeout SECONDS] [--token TOKEN]

With --token, the handshake carries `Authorization: Bearer TOKEN` (the SDK's websocket_client
has no headers parameter, so its `connect` is wrapped). For wss:// URLs the SDK uses Python's
default TLS context, which trusts the CA file named by SSL_CERT_FILE.

Connects with `mcp.client.websocket.websocket_client` (offers subprotocol `mcp`), runs the
demo-contract sequence, and prints exactly one JSON object on stdout (logs go to stderr):

  {"ok": true, "server_name": ..., "protocol_version": ..., "tools": [sorted names],
   "results": {"add": "5", "subtract": "-1", "multiply": "10", "divide": "0.25"},
   "divide_by_zero": {"is_error": true, "text": "division by zero"}, "echo": "héllo ✓",
   "progress": [1, 2, 3], "progress_totals": [3, 3, 3], "progress_messages": ["step 1", ...],
   "slow_count": "counted to 3", "list_roots": "file:///tmp/mcp-ws-interop", "ping_client": "pong",
   "resources": [uris], "readme": "...", "readme_mime_type": "text/plain", "prompts": [names],
   "greet": "Say hello to Ada.", "greet_role": "user", "ping": true}

A tool result is reported as its text when it is exactly one text content, else as the list of
its content blocks (so an equality assertion on the text fails visibly). Values are reported as
the server sent them; nothing is asserted here. With --skip-roots the list_roots call is
skipped (the key is then absent). On any exception or on the overall timeout (default 30 s) it
prints {"ok": false, "error": "...", "partial": {...what was collected}} and exits 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
import warnings
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)

import anyio  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.websocket import websocket_client  # noqa: E402
from mcp.shared.context import RequestContext  # noqa: E402
from mcp.types import CallToolResult, ListRootsResult, Root  # noqa: E402

ROOT_URI = "file:///tmp/mcp-ws-interop"
ROOT_NAME = "interop"


async def list_roots_callback(context: RequestContext[ClientSession, Any]) -> ListRootsResult:
    return ListRootsResult(roots=[Root(uri=ROOT_URI, name=ROOT_NAME)])  # type: ignore[arg-type]


def tool_text(result: CallToolResult) -> Any:
    content = result.content
    if len(content) == 1 and content[0].type == "text":
        return content[0].text
    return [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in content]


async def run(url: str, skip_roots: bool, report: dict[str, Any]) -> None:
    async with websocket_client(url) as (read_stream, write_stream):
        async with ClientSession(read_stream, write_stream, list_roots_callback=list_roots_callback) as session:
            await exercise(session, skip_roots, report)


async def exercise(session: ClientSession, skip_roots: bool, report: dict[str, Any]) -> None:
    init = await session.initialize()
    report["server_name"] = init.serverInfo.name
    report["server_version"] = init.serverInfo.version
    report["protocol_version"] = init.protocolVersion

    tools = await session.list_tools()
    report["tools"] = sorted(tool.name for tool in tools.tools)

    results: dict[str, Any] = {}
    report["results"] = results
    for name, a, b in (("add", 2, 3), ("subtract", 2, 3), ("multiply", 2.5, 4), ("divide", 1, 4)):
        result = await session.call_tool(name, {"a": a, "b": b})
        results[name] = tool_text(result)
        if result.isError:
            results[name + "_is_error"] = True

    result = await session.call_tool("divide", {"a": 1, "b": 0})
    report["divide_by_zero"] = {"is_error": bool(result.isError), "text": tool_text(result)}

    result = await session.call_tool("echo", {"text": "héllo ✓"})
    report["echo"] = tool_text(result)

    progress: list[float] = []
    totals: list[float | None] = []
    messages: list[str | None] = []
    report["progress"] = progress
    report["progress_totals"] = totals
    report["progress_messages"] = messages

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(int(value) if float(value).is_integer() else value)
        totals.append(int(total) if total is not None and float(total).is_integer() else total)
        messages.append(message)

    result = await session.call_tool(
        "slow_count", {"steps": 3, "interval_ms": 50}, progress_callback=on_progress
    )
    report["slow_count"] = tool_text(result)

    if not skip_roots:
        result = await session.call_tool("list_roots", {})
        report["list_roots"] = tool_text(result)

    result = await session.call_tool("ping_client", {})
    report["ping_client"] = tool_text(result)

    resources = await session.list_resources()
    report["resources"] = [str(r.uri) for r in resources.resources]
    read = await session.read_resource("demo://readme")  # type: ignore[arg-type]
    first = read.contents[0]
    report["readme"] = getattr(first, "text", None)
    report["readme_mime_type"] = first.mimeType

    prompts = await session.list_prompts()
    report["prompts"] = [p.name for p in prompts.prompts]
    prompt = await session.get_prompt("greet", {"name": "Ada"})
    message = prompt.messages[0]
    report["greet"] = getattr(message.content, "text", None)
    report["greet_role"] = message.role

    await session.send_ping()
    report["ping"] = True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--skip-roots", action="store_true", help="do not call the list_roots tool")
    parser.add_argument("--timeout", type=float, default=30.0, help="overall timeout in seconds (default 30)")
    parser.add_argument("--token", help="send Authorization: Bearer TOKEN on the handshake")
    args = parser.parse_args()
    if args.token:
        import functools

        import mcp.client.websocket as sdk_websocket

        headers = {"Authorization": f"Bearer {args.token}"}
        sdk_websocket.ws_connect = functools.partial(sdk_websocket.ws_connect, additional_headers=headers)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    report: dict[str, Any] = {}

    async def main_async() -> None:
        with anyio.fail_after(args.timeout):
            await run(args.url, args.skip_roots, report)

    try:
        anyio.run(main_async)
    except BaseException as exc:  # noqa: BLE001 - report everything, incl. exception groups
        traceback.print_exc(file=sys.stderr)
        error = describe(exc)
        if isinstance(exc, TimeoutError):
            error = f"timeout after {args.timeout} s"
        print(json.dumps({"ok": False, "error": error, "partial": report}), flush=True)
        return 1
    print(json.dumps({"ok": True, **report}), flush=True)
    return 0


def describe(exc: BaseException) -> str:
    """Flatten exception groups (anyio task groups wrap errors) into one readable line."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(e) for e in exc.exceptions)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
