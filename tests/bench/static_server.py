"""A static aiohttp server for comparison: answers every GET with the bytes of a given file.

    python tests/bench/static_server.py BODY_FILE
prints "static server at http://127.0.0.1:PORT" once listening (port picked by the OS) and
serves until SIGTERM/SIGINT.
"""
from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aiohttp import web


async def main(body_file: str) -> None:
    body = Path(body_file).read_bytes()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"static server at http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
