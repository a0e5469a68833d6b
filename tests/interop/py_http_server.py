"""The demo server of py_server.py (official Python SDK, FastMCP) served over Streamable HTTP.

Usage:
    python py_http_server.py [--port PORT] [--stateless] [--json] [--timeout SECONDS]

Serves the SDK's `streamable_http_app()` under uvicorn at http://127.0.0.1:PORT/mcp (--port 0,
the default, picks a free port) and prints exactly one line `LISTENING http://127.0.0.1:PORT/mcp`
once the socket accepts connections. --stateless runs the SDK's stateless mode (no session ids);
--json answers with JSON bodies instead of SSE streams. Exits with status 3 after --timeout
seconds (default 30; 0 = never) so a process a test forgot cannot linger.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

import anyio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from py_server import mcp  # noqa: E402  (the demo contract, shared with the WebSocket server)


async def serve(port: int, stateless: bool, json_response: bool) -> None:
    import uvicorn

    mcp.settings.stateless_http = stateless
    mcp.settings.json_response = json_response
    app = mcp.streamable_http_app()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    real_port = sock.getsockname()[1]

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:
            if server.should_exit:
                raise RuntimeError("uvicorn failed to start")
            await anyio.sleep(0.01)
        print(f"LISTENING http://127.0.0.1:{real_port}/mcp", flush=True)


async def main_async(args: argparse.Namespace) -> None:
    if args.timeout and args.timeout > 0:
        with anyio.move_on_after(args.timeout) as scope:
            await serve(args.port, args.stateless, args.json)
        if scope.cancelled_caught:
            sys.stderr.write("py_http_server: --timeout reached, exiting\n")
            sys.stderr.flush()
            os._exit(3)
    else:
        await serve(args.port, args.stateless, args.json)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    try:
        anyio.run(main_async, args)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
