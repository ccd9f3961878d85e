"""Fan-out: one activity delivered to 1,000 follower inboxes on loopback receivers.

1,000 distinct inbox URLs (no shared inbox, so 1,000 signed POSTs) spread over HOSTS receiving
servers on 127.0.0.1 (one port each: a host each, so per-host limits and ordering apply).  The
receivers check every HTTP signature; they run in a subprocess (their own event loop, as remote
servers would), driven through a small control server.

Run 1: wall time from the enqueue's commit to every delivery recorded (goal ≤ 10 s).
Run 2: a second activity while one receiver is down; it comes back once half of the others have
acknowledged; the worker's clock is then moved forward (no waiting for real backoff) until the
queue is empty.  Counts what never arrived (goal: 0) and what arrived twice.

    CIVICNODE_BENCH_INBOXES=N (default 1000), CIVICNODE_BENCH_HOSTS=H (default 25),
    CIVICNODE_BENCH_DATABASE_URL (default SQLite in a temporary directory)
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, select  # noqa: E402

from federation.delivery import Policy  # noqa: E402
from federation.fetch import SafeFetcher  # noqa: E402
from node.activitypub.delivery_models import Delivery  # noqa: E402
from node.activitypub.outbox import enqueue  # noqa: E402
from node.activitypub.worker import DeliveryWorker  # noqa: E402
from node.db import make_engine, make_sessionmaker  # noqa: E402
from node.db.migrate import upgrade  # noqa: E402
from node.keystore import ensure_keys  # noqa: E402
from tests.delivery_support import KEY_ID, FakeClock, Receiver, note_activity  # noqa: E402

INBOXES = int(os.environ.get("CIVICNODE_BENCH_INBOXES", "1000"))
HOSTS = int(os.environ.get("CIVICNODE_BENCH_HOSTS", "25"))
GOAL_S = 10.0


# --- the receiving side: a subprocess with HOSTS inbox servers and a control server -----------


async def serve_receivers(pem_file: str) -> None:
    from aiohttp import web

    receivers = [await Receiver({KEY_ID: Path(pem_file).read_text()}).start() for _ in range(HOSTS)]

    async def stats(_request):
        acked = Counter(item.path for r in receivers for item in r.acked)
        return web.json_response({"acked": acked, "received": sum(len(r.received) for r in receivers),
                                  "unverified": sum(not i.verified for r in receivers for i in r.received)})

    async def reset(_request):
        for r in receivers:
            r.received.clear()
            r.acked.clear()
        return web.json_response({})

    async def switch(request):
        receiver = receivers[int(request.match_info["n"])]
        await (receiver.start() if request.match_info["state"] == "up" else receiver.stop())
        return web.json_response({})

    control = web.Application()
    control.router.add_get("/stats", stats)
    control.router.add_post("/reset", reset)
    control.router.add_post("/{state:up|down}/{n}", switch)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(json.dumps({"control": runner.addresses[0][1], "hosts": [r.host for r in receivers]}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    for receiver in receivers:
        await receiver.stop()
    await runner.cleanup()


class Receivers:
    """The parent's handle on the receiving subprocess."""

    def __init__(self, process, info: dict, session):
        self.process, self.hosts, self.session = process, info["hosts"], session
        self.control = f"http://127.0.0.1:{info['control']}"

    async def stats(self) -> dict:
        async with self.session.get(f"{self.control}/stats") as response:
            return await response.json()

    async def post(self, path: str) -> None:
        async with self.session.post(f"{self.control}{path}") as response:
            response.raise_for_status()


async def start_receivers(public_pem: str, tmp: str, session) -> Receivers:
    pem_file = Path(tmp) / "sender.pem"
    pem_file.write_text(public_pem)
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--receivers", str(pem_file), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        line = await process.stdout.readline()
    return Receivers(process, json.loads(line), session)


async def wait_acked(receivers: Receivers, n: int, timeout: float) -> dict:
    """Bounded polling of the receivers' count (every 50 ms)."""
    async with asyncio.timeout(timeout):
        while True:
            stats = await receivers.stats()
            if len(stats["acked"]) >= n:
                return stats
            await asyncio.sleep(0.05)


async def delivered(sessionmaker, activity_id: int) -> Counter:
    async with sessionmaker() as db:
        rows = await db.execute(select(Delivery.status, func.count()).where(Delivery.outbox_activity_id == activity_id)
                                .group_by(Delivery.status))
        return Counter(dict(rows.all()))


# --- the sending side -------------------------------------------------------------------------


async def run(database_url: str, tmp: str) -> dict:
    import aiohttp

    engine = make_engine(database_url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as db:
        public_pem = (await ensure_keys(db, "user", 1)).rsa_public_pem
    session = aiohttp.ClientSession()
    receivers = await start_receivers(public_pem, tmp, session)
    inboxes = [f"http://{receivers.hosts[i % HOSTS]}/users/u{i}/inbox" for i in range(INBOXES)]
    fetcher = SafeFetcher(allow_private=True, max_connections=200)
    result: dict = {"benchmark": "fanout", "inboxes": INBOXES, "hosts": HOSTS, "database": engine.dialect.name}
    try:
        # --- run 1: everything up, real clock ---
        worker = DeliveryWorker(sessionmaker, fetcher)
        worker.start()
        started = time.perf_counter()
        async with sessionmaker.begin() as db:
            first = await enqueue(db, actor_type="user", actor_id=1, activity=note_activity(1), inboxes=inboxes)
        await worker.until_idle(120)  # every delivery claimed, sent and recorded
        wall = time.perf_counter() - started
        counts = await delivered(sessionmaker, first.id)
        await worker.stop()
        stats = await receivers.stats()
        result.update({"wall_s": round(wall, 2), "goal_s": GOAL_S, "posts_per_s": round(INBOXES / wall),
                       "delivered": counts.get("delivered", 0), "acknowledged": len(stats["acked"]),
                       "unverified": stats["unverified"]})

        # --- run 2: one receiver down for the first half of the run ---
        await receivers.post("/reset")
        await receivers.post("/down/0")
        down = receivers.hosts[0]
        clock = FakeClock()
        worker = DeliveryWorker(sessionmaker, fetcher, clock=clock, policy=Policy())
        worker.start()
        started = time.perf_counter()
        async with sessionmaker.begin() as db:
            second = await enqueue(db, actor_type="user", actor_id=1, activity=note_activity(2), inboxes=inboxes,
                                   now=clock())
        await wait_acked(receivers, INBOXES // 2, 120)
        await receivers.post("/up/0")  # back, on the same port
        steps = 0
        while (await delivered(sessionmaker, second.id)).get("delivered", 0) < INBOXES and steps < 200:
            await worker.until_idle(60)
            clock.advance(minutes=1)  # instead of waiting for backoff and the circuit's cool-down
            steps += 1
        await worker.until_idle(60)
        outage_wall = time.perf_counter() - started
        counts = await delivered(sessionmaker, second.id)
        await worker.stop()
        acked = (await receivers.stats())["acked"]
        lost = INBOXES - len(acked)  # inbox paths are distinct
        result.update({
            "lost_after_outage": lost, "duplicates_after_outage": sum(n - 1 for n in acked.values() if n > 1),
            "outage_delivered": counts.get("delivered", 0),
            "outage_failed_attempts": worker.stats["pending"] + worker.stats["skipped"],
            "outage_wall_s": round(outage_wall, 2), "outage_clock_advanced_min": steps,
            "down_host_inboxes": sum(1 for i in inboxes if f"//{down}/" in i)})
        result["ok"] = result["wall_s"] <= GOAL_S and lost == 0 and stats["unverified"] == 0
        return result
    finally:
        receivers.process.stdin.close()
        async with asyncio.timeout(30):
            await receivers.process.wait()
        await session.close()
        await fetcher.close()
        await engine.dispose()


def main() -> int:
    if sys.argv[1:2] == ["--receivers"]:
        asyncio.run(serve_receivers(sys.argv[2]))
        return 0
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("civicnode.delivery").setLevel(logging.ERROR)  # the outage's refusals are expected
    url = os.environ.get("CIVICNODE_BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(url or f"sqlite+aiosqlite:///{tmp}/fanout.db", tmp))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
