"""Latency of the demo space page against a static aiohttp response of the same size.

Both servers run in their own subprocess (port 0); the client (aiohttp, keep-alive, a cookie
jar like a browser) runs here, in a third process. For each server: warm-up requests, then N
sequential GETs, then N GETs from CONCURRENCY concurrent clients. Reports p50/p95 in ms and the
ratio of the p95s (space page / static).

    CIVICNODE_BENCH_REQUESTS=N (default 300), CIVICNODE_BENCH_CONCURRENCY=C (default 8)
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
from yarl import URL

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.nodeproc import (  # noqa: E402
    NodeProcess, demo_space_paths, get, seed_demo_data, start_serve,
)

REQUESTS = int(os.environ.get("CIVICNODE_BENCH_REQUESTS", "300"))
CONCURRENCY = int(os.environ.get("CIVICNODE_BENCH_CONCURRENCY", "8"))
WARMUP = 20
HERE = Path(__file__).resolve().parent


def start_static(body_file: Path) -> NodeProcess:
    process = subprocess.Popen([sys.executable, str(HERE / "static_server.py"), str(body_file)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True)
    server = NodeProcess(process)
    threading.Thread(target=server._pump, daemon=True).start()
    deadline = time.monotonic() + 30
    try:
        while True:
            line = server.next_line(deadline)
            if line.startswith("static server at "):
                server.url = line.split(" at ", 1)[1].strip()
                return server
    except BaseException:
        server.stop()
        raise


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return round(statistics.median(samples) * 1000, 3), round(cuts[94] * 1000, 3)


async def fetch(session: aiohttp.ClientSession, url: str, size: int) -> float:
    started = time.perf_counter()
    async with session.get(url) as response:
        body = await response.read()
    elapsed = time.perf_counter() - started
    # The page carries a per-visitor CSRF token, so only the status and a sane size are checked.
    if response.status != 200 or abs(len(body) - size) > size // 20:
        raise RuntimeError(f"{url} answered {response.status} with {len(body)} bytes (expected ~{size})")
    return elapsed


async def log_in(session: aiohttp.ClientSession, base_url: str, login: tuple[str, str]) -> None:
    """Log in through the login form, as a browser would (the session cookie stays in the jar)."""
    async with session.get(base_url + "/login") as response:
        token = re.search(r'name="_csrf" value="([^"]+)"', await response.text()).group(1)
    username, password = login
    async with session.post(base_url + "/login", data={"username": username, "password": password,
                                                      "_csrf": token}) as response:
        await response.read()
    if not any(cookie.key == "civicnode_session" for cookie in session.cookie_jar):
        raise RuntimeError(f"logging in as {username} failed ({response.status})")


async def page_body(url: str, login: tuple[str, str] | None = None) -> bytes:
    """The page as this visitor (anonymous, or logged in as `login`) gets it."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        if login:
            await log_in(session, str(URL(url).origin()), login)
        async with session.get(url) as response:
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
            return await response.read()


async def measure(url: str, size: int, login: tuple[str, str] | None = None) -> dict:
    """Latencies of GET url, anonymous or logged in as login = (username, password)."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        if login:
            await log_in(session, str(URL(url).origin()), login)
        for _ in range(WARMUP):
            await fetch(session, url, size)
        sequential = [await fetch(session, url, size) for _ in range(REQUESTS)]

        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(REQUESTS):
            queue.put_nowait(i)
        concurrent: list[float] = []

        async def worker() -> None:
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                concurrent.append(await fetch(session, url, size))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - started
    seq50, seq95 = percentiles(sequential)
    con50, con95 = percentiles(concurrent)
    return {"p50": seq50, "p95": seq95, "c_p50": con50, "c_p95": con95,
            "c_rps": round(REQUESTS / wall, 1)}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="civicnode-bench-") as tmp:
        data = Path(tmp) / "data"
        seed_demo_data(data)
        node = start_serve(data)
        static = None
        try:
            spaces = demo_space_paths(node.url)
            if not spaces:
                raise RuntimeError("the demo node links to no space page")
            space_url = node.url + spaces[0]
            status, body = get(space_url)
            if status != 200:
                raise RuntimeError(f"{space_url} answered {status}")
            body_file = Path(tmp) / "space.html"
            body_file.write_bytes(body)
            static = start_static(body_file)
            node_figures = asyncio.run(measure(space_url, len(body)))
            static_figures = asyncio.run(measure(static.url + spaces[0], len(body)))
        finally:
            if static is not None:
                static.stop()
            node.stop()
    print(json.dumps({
        "benchmark": "space_page",
        "path": spaces[0],
        "bytes": len(body),
        "requests": REQUESTS,
        "p50_ms": node_figures["p50"],
        "p95_ms": node_figures["p95"],
        "static_p50_ms": static_figures["p50"],
        "static_p95_ms": static_figures["p95"],
        "ratio_p95": round(node_figures["p95"] / static_figures["p95"], 2),
        "concurrency": CONCURRENCY,
        "concurrent_p50_ms": node_figures["c_p50"],
        "concurrent_p95_ms": node_figures["c_p95"],
        "concurrent_static_p50_ms": static_figures["c_p50"],
        "concurrent_static_p95_ms": static_figures["c_p95"],
        "concurrent_ratio_p95": round(node_figures["c_p95"] / static_figures["c_p95"], 2),
        "concurrent_rps": node_figures["c_rps"],
        "concurrent_static_rps": static_figures["c_rps"],
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
