"""Give freed memory back to the system when the node goes idle.

A request allocates (templates, query results, compiled statements) and frees most of it again,
but glibc's allocator keeps freed heap pages for reuse, so a node that served a burst of pages
keeps that memory while it waits for the next one.  Once no response has been prepared for
IDLE_SECONDS, `malloc_trim(0)` hands the free pages back (about a megabyte on the demo data: the
idle-memory goal, docs/ARCHITECTURE.md).  It costs a few milliseconds, at most once per idle
period; elsewhere than glibc it does nothing.
"""
from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import time
from collections.abc import Callable

from aiohttp import web

IDLE_SECONDS = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


def setup_idle_trim(app: web.Application, idle_seconds: float = IDLE_SECONDS) -> None:
    trim = _malloc_trim()
    if trim is None:
        return
    state = {"last": time.monotonic(), "busy": True}

    async def mark(request: web.Request, response: web.StreamResponse) -> None:
        state["last"], state["busy"] = time.monotonic(), True

    async def watch() -> None:
        while True:
            await asyncio.sleep(idle_seconds / 2)
            if state["busy"] and time.monotonic() - state["last"] >= idle_seconds:
                state["busy"] = False
                trim(0)

    async def run(app: web.Application):
        task = asyncio.create_task(watch())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.on_response_prepare.append(mark)
    app.cleanup_ctx.append(run)
