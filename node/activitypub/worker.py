"""The delivery worker: claims due deliveries, signs and POSTs them, records the outcome.

It runs inside `civicnode serve` by default (started and stopped with the application), or as
`civicnode worker` processes with `delivery_in_process = false` on the web processes.  Several
workers share a PostgreSQL queue (row locks with SKIP LOCKED); on SQLite run one.

Time comes from an injectable clock (``clock()``, timezone-aware): backoff, leases and circuit
cool-downs are all computed from it, so tests move time forward instead of waiting.
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from aiohttp import web

from federation.delivery import Policy
from node import __version__
from node.activitypub.delivery import Job, Outcome, claim, reclaim_expired, record_outcomes, release
from node.activitypub.delivery_models import OutboxActivity
from node.activitypub.outbox import register_waker, unregister_waker
from node.appkeys import DB, SETTINGS
from node.config import Settings
from node.db.base import utcnow
from node.keystore import ensure_keys

log = logging.getLogger("civicnode.delivery")
# {"worker": DeliveryWorker | None}: filled at start-up (the app is frozen by then).
DELIVERY = web.AppKey("delivery", dict)
KEY_CACHE_SECONDS = 60  # a rotated key is used within a minute
_names = itertools.count(1)


class DeliveryWorker:
    def __init__(self, sessionmaker, fetcher=None, *, fetcher_factory: Callable | None = None,
                 clock: Callable[[], datetime] = utcnow, concurrency: int = 16, per_host: int = 4,
                 poll_seconds: float = 2.0, lease: timedelta = timedelta(minutes=5), policy: Policy = Policy(),
                 rng: Callable[[], float] = random.random, name: str | None = None,
                 grace_seconds: float = 5.0):
        # The fetcher (and with it the crypto stack) is made on the first delivery, so that an
        # idle node that never federates does not pay for it; a factory-made one is ours to close.
        self.sessionmaker, self.fetcher, self.clock = sessionmaker, fetcher, clock
        self._fetcher_factory = fetcher_factory
        self.concurrency, self.per_host, self.poll_seconds = max(1, concurrency), max(1, per_host), poll_seconds
        # Longer than any POST can take (the fetcher's timeout), or a live worker's delivery
        # would be taken back and sent twice.
        self.lease, self.policy, self.rng, self.grace_seconds = lease, policy, rng, grace_seconds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{next(_names)}"
        self.stats: Counter = Counter()
        self._wake_event = asyncio.Event()
        self._idle = asyncio.Condition()
        self._tasks: set[asyncio.Task] = set()
        self._ready: collections.deque[Job] = collections.deque()  # claimed, not started yet
        self._per_host: Counter = Counter()
        self._passes = self._idle_pass = 0
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_reclaim: datetime | None = None
        self._bodies: dict[int, tuple[bytes, str, str, int]] = {}
        # Outcomes are written in batches, one transaction each, and every write of this worker
        # (claims too) takes this lock: SQLite has one writer, and writers queueing in its busy
        # handler (which sleeps) cost far more than taking turns here.
        self._write_lock = asyncio.Lock()
        self._results: list[tuple[Job, Outcome]] = []
        self._recorder: asyncio.Task | None = None
        self._keys: dict[tuple[str, int], tuple[float, str]] = {}

    # --- control ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look for work now (called after an enqueue commits; safe from any thread or loop)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_event.set)

    def start(self) -> asyncio.Task:
        self._task = asyncio.create_task(self.run(), name=f"delivery worker {self.name}")
        return self._task

    async def stop(self) -> None:
        """Finish what is in flight (up to grace_seconds), then hand back what is left."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        try:
            async with self.sessionmaker.begin() as db:
                await release(db, self.name, self.clock())
        except Exception:  # the database is gone: the lease will bring those rows back
            log.warning("delivery worker %s: could not hand back its deliveries", self.name, exc_info=True)
        if self._fetcher_factory is not None and self.fetcher is not None:
            await self.fetcher.close()
            self.fetcher = None

    async def until_idle(self, timeout: float = 10.0) -> None:
        """Return once a pass that began after this call found nothing to do (tests, bench)."""
        start = self._passes
        self.wake()
        async with asyncio.timeout(timeout):
            async with self._idle:
                await self._idle.wait_for(lambda: self._idle_pass > start)

    # --- the loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        register_waker(self.wake)
        failures_logged = 0
        try:
            while not self._stopping:
                self._wake_event.clear()  # before looking: a wake during the pass is not lost
                self._passes += 1
                number, progress = self._passes, False
                # Claim ahead (up to twice the concurrency, when the local queue runs low): one
                # claim per batch of POSTs instead of one per finished POST.
                if len(self._ready) <= self.concurrency // 2 and self._room() > 0:
                    try:
                        jobs, skipped = await self._claim()
                        failures_logged = 0
                    except Exception:  # database away or schema not there yet: retry later
                        if failures_logged < 3:
                            log.exception("delivery worker %s: claiming failed; retrying", self.name)
                        failures_logged += 1
                        await self._sleep(self.poll_seconds)
                        continue
                    for job in jobs:
                        self._per_host[job.host] += 1
                    self._ready.extend(jobs)
                    progress = bool(jobs or skipped)
                while self._ready and len(self._tasks) < self.concurrency:
                    self._spawn(self._ready.popleft())
                if progress:
                    continue
                if not (self._tasks or self._ready or self._results) and (
                        self._recorder is None or self._recorder.done()):
                    async with self._idle:
                        self._idle_pass = number
                        self._idle.notify_all()
                await self._sleep(self.poll_seconds)
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.grace_seconds)
            if self._recorder is not None:
                await asyncio.wait([self._recorder], timeout=self.grace_seconds)
        finally:
            # Also the path of a crash (the task cancelled): in-flight POSTs are abandoned and
            # their rows stay in_flight until the lease runs out.
            unregister_waker(self.wake)
            doomed = [*self._tasks, *([self._recorder] if self._recorder else [])]
            for task in doomed:
                task.cancel()
            await asyncio.gather(*doomed, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._wake_event.wait()
        except TimeoutError:
            pass

    async def _claim(self) -> tuple[list[Job], int]:
        now = self.clock()
        async with self._write_lock, self.sessionmaker.begin() as db:
            if self._last_reclaim is None or now - self._last_reclaim >= timedelta(seconds=30):
                if await reclaim_expired(db, now):
                    log.warning("delivery worker %s: took back deliveries whose lease ran out", self.name)
                self._last_reclaim = now
            busy = [host for host, n in self._per_host.items() if n >= self.per_host]
            free = {host: self.per_host - n for host, n in self._per_host.items()}
            jobs, skipped = await claim(db, token=self.name, now=now, slots=self._room(),
                                        host_slots=free, per_host=self.per_host, busy_hosts=busy,
                                        lease=self.lease, policy=self.policy)
        self.stats["skipped"] += skipped
        return jobs, skipped

    def _room(self) -> int:
        return 2 * self.concurrency - len(self._tasks) - len(self._ready)

    def _spawn(self, job: Job) -> None:
        task = asyncio.create_task(self._deliver(job))
        self._tasks.add(task)

        def done(_task: asyncio.Task) -> None:
            self._tasks.discard(task)
            self._per_host[job.host] -= 1
            if self._per_host[job.host] <= 0:
                del self._per_host[job.host]
            self._wake_event.set()  # a slot is free, and what waited behind this one may go

        task.add_done_callback(done)

    # --- one delivery ----------------------------------------------------------------------------

    async def _deliver(self, job: Job) -> None:
        from federation.fetch import FetchError, Signer

        if self.fetcher is None:
            self.fetcher = self._fetcher_factory()
        status = retry_after = None
        transient, error = True, None
        try:
            body, key_id, actor_type, actor_id = await self._activity(job.outbox_activity_id)
            signer = Signer(key_id, await self._private_key(actor_type, actor_id))
            # Signed here, per attempt: the Date header is fresh and the receiver's clock window
            # applies to this attempt, not to when the activity was queued.
            response = await self.fetcher.post(job.inbox_url, body, signer=signer)
            status, retry_after = response.status, response.headers.get("Retry-After")
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:300]}"
        except FetchError as exc:
            transient, error = exc.transient, str(exc)
        except Exception as exc:  # a bug or a vanished row must not kill the worker
            log.exception("delivery %s to %s failed unexpectedly", job.id, job.inbox_url)
            error = f"{type(exc).__name__}: {exc}"
        # Recorded in the background, batched with others: the slot is free for the next POST
        # now.  The row stays in_flight until then, so nothing that must wait for it can go.
        self._results.append((job, Outcome(self.clock(), status, error, transient, retry_after)))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._write_results())

    async def _write_results(self) -> None:
        while self._results:
            batch, self._results = self._results[:200], self._results[200:]
            async with self._write_lock:
                try:
                    async with self.sessionmaker.begin() as db:
                        statuses = await record_outcomes(db, batch, policy=self.policy, rng=self.rng)
                except Exception:
                    statuses = []
                    for item in batch:  # one bad row must not lose the others: one by one
                        try:
                            async with self.sessionmaker.begin() as db:
                                statuses += await record_outcomes(db, [item], policy=self.policy, rng=self.rng)
                        except Exception:
                            # Stays in_flight; the lease brings it back and the receiver may see it twice.
                            log.exception("delivery %s: could not record the outcome", item[0].id)
                            statuses.append("unrecorded")
            for (job, outcome), status in zip(batch, statuses):
                self.stats[status] += 1
                if status != "delivered":
                    log.info("delivery %s to %s: %s (%s)", job.id, job.inbox_url, status, outcome.error)
            self._wake_event.set()  # what waited behind these may go now

    async def _activity(self, activity_id: int) -> tuple[bytes, str, str, int]:
        cached = self._bodies.get(activity_id)
        if cached is None:
            async with self.sessionmaker() as db:
                row = await db.get(OutboxActivity, activity_id)
            if row is None:
                raise LookupError(f"outbox activity {activity_id} is gone")
            body = json.dumps(row.body, separators=(",", ":"), ensure_ascii=False).encode()
            cached = (body, f"{row.body['actor']}#main-key", row.actor_type, row.actor_id)
            if len(self._bodies) >= 256:  # a fan-out reuses one body; keep only the recent ones
                self._bodies.pop(next(iter(self._bodies)))
            self._bodies[activity_id] = cached
        return cached

    async def _private_key(self, actor_type: str, actor_id: int) -> str:
        cached = self._keys.get((actor_type, actor_id))
        if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        async with self.sessionmaker.begin() as db:
            key = await ensure_keys(db, actor_type, actor_id)
            pem = key.rsa_private_pem
        self._keys[(actor_type, actor_id)] = (time.monotonic(), pem)
        return pem


# --- wiring --------------------------------------------------------------------------------------


def make_fetcher(settings: Settings):
    from federation.fetch import SafeFetcher

    return SafeFetcher(allow_private=settings.allow_private_addresses, user_agent=f"civicnode/{__version__}",
                       max_connections=max(100, settings.delivery_concurrency * 2))


def make_worker(settings: Settings, sessionmaker, **overrides) -> DeliveryWorker:
    options = {"concurrency": settings.delivery_concurrency, "per_host": settings.delivery_per_host,
               "poll_seconds": max(1, settings.delivery_poll_seconds)}
    return DeliveryWorker(sessionmaker, fetcher_factory=lambda: make_fetcher(settings), **{**options, **overrides})


def setup_delivery(app: web.Application) -> None:
    """The admin pages, and the in-process worker unless `delivery_in_process = false`."""
    from node.admin.federation import setup_routes as admin_routes

    admin_routes(app)
    app[DELIVERY] = {"worker": None}
    app.cleanup_ctx.append(_in_process_worker)


async def _in_process_worker(app: web.Application):
    settings = app[SETTINGS]
    if not settings.delivery_in_process:
        yield
        return
    worker = make_worker(settings, app[DB])
    worker.start()
    app[DELIVERY]["worker"] = worker
    try:
        yield
    finally:
        app[DELIVERY]["worker"] = None
        await worker.stop()


async def run_worker(settings: Settings, stop: asyncio.Event | None = None, **overrides) -> None:
    """`civicnode worker`: deliver until ``stop`` is set."""
    from node.db import make_engine, make_sessionmaker
    from node.db.schema import schema_status

    engine = make_engine(settings.database_url)
    try:
        problem = (await schema_status(engine)).problem()
        if problem:
            raise RuntimeError(problem)
        worker = make_worker(settings, make_sessionmaker(engine), **overrides)
        worker.start()
        print(f"civicnode worker {worker.name}: delivering for {settings.node_name} "
              f"({worker.concurrency} at a time, {worker.per_host} per host)", flush=True)
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            await worker.stop()
    finally:
        await engine.dispose()
