"""Interop client: drives an mcp-ws server over Streamable HTTP with the official Python SDK.

Usage:
    python py_http_client.py URL [--timeout SECONDS]

Connects with `mcp.client.streamable_http.streamablehttp_client`, initializes, lists the tools,
calls `slow_count` with a progress callback and `list_roots` (the server asks us for roots
with a `roots/list` request, which we answer), then prints one JSON object on stdout:

  {"ok": true, "protocol_version": ..., "session_id": ..., "tools": [sorted names],
   "progress": [...], "slow_count": "...", "list_roots": "..."}

Values are reported as the server sent them; nothing is asserted here. On an exception or the
overall timeout (default 30 s) it prints {"ok": false, "error": ..., "partial": {...}} and
exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)

import anyio  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402
from mcp.shared.context import RequestContext  # noqa: E402
from mcp.types import ListRootsResult, Root, TextContent  # noqa: E402


async def list_roots_callback(context: RequestContext[ClientSession, Any]) -> ListRootsResult:
    return ListRootsResult(roots=[Root(uri="file:///tmp/mcp-ws-interop", name="interop")])


def text_of(result: Any) -> Any:
    if len(result.content) == 1 and isinstance(result.content[0], TextContent):
        return result.content[0].text
    return [block.model_dump() for block in result.content]


async def run(url: str, report: dict[str, Any]) -> None:
    async with streamablehttp_client(url) as (read_stream, write_stream, get_session_id):
        async with ClientSession(
            read_stream, write_stream, list_roots_callback=list_roots_callback
        ) as session:
            initialized = await session.initialize()
            report["protocol_version"] = str(initialized.protocolVersion)
            report["session_id"] = get_session_id()
            tools = await session.list_tools()
            report["tools"] = sorted(tool.name for tool in tools.tools)
            progress: list[float] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append(value)

            result = await session.call_tool(
                "slow_count", {"steps": 3, "interval_ms": 50}, progress_callback=on_progress
            )
            report["slow_count"] = text_of(result)
            report["progress"] = progress
            result = await session.call_tool("list_roots", {})
            report["list_roots"] = text_of(result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    report: dict[str, Any] = {}

    async def main_async() -> None:
        with anyio.fail_after(args.timeout):
            await run(args.url, report)

    try:
        anyio.run(main_async)
    except BaseException as error:  # noqa: BLE001 - report everything, including groups
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"ok": False, "error": repr(error), "partial": report}))
        sys.exit(1)
    print(json.dumps({"ok": True, **report}))


if __name__ == "__main__":
    main()
