"""Interop client over stdio: launches CMD (e.g. `mcp-ws connect URL`) with the official Python
SDK's `mcp.client.stdio.stdio_client` and talks MCP to it, in two phases around a server restart.

Usage:
    python py_stdio_client.py [--timeout SECONDS] [--attempts N] [--retry-ms MS] -- CMD [ARGS...]

Phase 1: initialize, call add(2, 3), print one JSON line to stdout (flushed):
    {"phase": 1, "add": "5", "server_name": ..., "protocol_version": ...}
then wait for a line `continue` on this script's own stdin (the test restarts the server
meanwhile; CMD's stdin is a separate pipe owned by the SDK).
Phase 2: call add(10, 5), retrying up to --attempts (20) times --retry-ms (250) apart while it
fails (an exception such as a JSON-RPC error, or a result with isError: true), then
echo("again"), print
    {"phase": 2, "add": "15", "echo": "again", "errors_before_success": N, "errors": [...], "ok": true}
and exit 0; leaving the session closes CMD's stdin, which stops it (the SDK terminates it
after 2 s otherwise).
On any failure, or the overall timeout (default 30 s, counting the wait for `continue`), it
prints {"ok": false, "phase": <phase reached>, "error": "..."} and exits 1. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import stat
import sys
import traceback
import warnings
from datetime import timedelta
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)

import anyio  # noqa: E402
from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.shared.context import RequestContext  # noqa: E402
from mcp.types import CallToolResult, ListRootsResult, Root  # noqa: E402

ROOT_URI = "file:///tmp/mcp-ws-interop"
ROOT_NAME = "interop"

# Per-request timeout inside phase 2's retry loop, so one lost request does not eat the budget.
CALL_TIMEOUT = timedelta(seconds=5)


async def list_roots_callback(context: RequestContext[ClientSession, Any]) -> ListRootsResult:
    return ListRootsResult(roots=[Root(uri=ROOT_URI, name=ROOT_NAME)])  # type: ignore[arg-type]


def tool_text(result: CallToolResult) -> Any:
    content = result.content
    if len(content) == 1 and content[0].type == "text":
        return content[0].text
    return [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in content]


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def read_stdin_line() -> str | None:
    """Read one line from our stdin without a thread, so the overall timeout can cancel it."""
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        # A regular file, /dev/null or a terminal: blocking read in a (daemon) worker thread,
        # abandoned if the overall timeout fires.
        line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        return line.strip() if line else None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(os.dup(sys.stdin.fileno()), "rb", 0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        line = await reader.readline()
    finally:
        transport.close()
    if not line:
        return None
    return line.decode("utf-8", "replace").strip()


async def run(args: argparse.Namespace, state: dict[str, Any]) -> None:
    params = StdioServerParameters(command=args.cmd[0], args=args.cmd[1:], env=dict(os.environ))
    async with stdio_client(params, errlog=sys.stderr) as (read_stream, write_stream):
        async with ClientSession(read_stream, write_stream, list_roots_callback=list_roots_callback) as session:
            state["phase"] = 1
            init = await session.initialize()
            result = await session.call_tool("add", {"a": 2, "b": 3})
            emit(
                {
                    "phase": 1,
                    "add": tool_text(result),
                    "add_is_error": bool(result.isError),
                    "server_name": init.serverInfo.name,
                    "protocol_version": init.protocolVersion,
                }
            )

            while True:
                line = await read_stdin_line()
                if line is None:
                    raise RuntimeError("stdin closed before `continue`")
                if line == "continue":
                    break
                print(f"py_stdio_client: ignoring stdin line {line!r}", file=sys.stderr)

            state["phase"] = 2
            errors: list[str] = []
            add_text: Any = None
            for attempt in range(args.attempts):
                try:
                    result = await session.call_tool("add", {"a": 10, "b": 5}, read_timeout_seconds=CALL_TIMEOUT)
                except Exception as exc:  # noqa: BLE001 - McpError while the bridge reconnects
                    errors.append(describe(exc))
                else:
                    if not result.isError:
                        add_text = tool_text(result)
                        break
                    errors.append(f"isError result: {tool_text(result)}")
                print(f"py_stdio_client: add attempt {attempt + 1} failed: {errors[-1]}", file=sys.stderr)
                if attempt + 1 < args.attempts:
                    await anyio.sleep(args.retry_ms / 1000)
            else:
                raise RuntimeError(f"add(10, 5) failed {len(errors)} times; last error: {errors[-1]}")

            result = await session.call_tool("echo", {"text": "again"}, read_timeout_seconds=CALL_TIMEOUT)
            state["final"] = {
                "phase": 2,
                "add": add_text,
                "echo": tool_text(result),
                "errors_before_success": len(errors),
                "errors": errors,
                "ok": True,
            }


def describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(e) for e in exc.exceptions)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=30.0, help="overall timeout in seconds (default 30)")
    parser.add_argument("--attempts", type=int, default=20, help="phase-2 add attempts (default 20)")
    parser.add_argument("--retry-ms", type=int, default=250, help="pause between attempts in ms (default 250)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    args = parser.parse_args()
    if args.cmd and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    if not args.cmd:
        parser.error("missing -- CMD [ARGS...]")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    state: dict[str, Any] = {"phase": 0}

    async def main_async() -> None:
        with anyio.fail_after(args.timeout):
            await run(args, state)

    try:
        anyio.run(main_async)
    except BaseException as exc:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        error = f"timeout after {args.timeout} s" if isinstance(exc, TimeoutError) else describe(exc)
        emit({"ok": False, "phase": state["phase"], "error": error})
        return 1
    if "final" not in state:
        emit({"ok": False, "phase": state["phase"], "error": "session ended without a result"})
        return 1
    emit(state["final"])
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: a worker thread may still block on a terminal/file stdin after a timeout.
    os._exit(code)
