"""Helpers for the delivery tests and the fan-out benchmark (this module holds no tests itself):
receiving servers on 127.0.0.1 that check HTTP signatures and do what a test tells them, a clock
tests move by hand, and a sender (a database with a local actor's keys)."""
from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from aiohttp import web
from sqlalchemy import select

from federation.delivery import Policy
from federation.fetch import SafeFetcher
from federation.signatures import SignatureError, verify_request
from node.activitypub.delivery_models import Delivery, HostState
from node.activitypub.outbox import enqueue
from node.activitypub.worker import DeliveryWorker
from node.db import make_engine, make_sessionmaker
from node.keystore import ensure_keys

SENDER = "http://sender.example/users/alice"
KEY_ID = f"{SENDER}#main-key"


class FakeClock:
    """The worker's notion of now; tests advance it instead of waiting for backoff."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@dataclass
class Received:
    path: str
    activity_id: str | None
    activity_type: str | None
    verified: bool
    error: str | None
    headers: dict


@dataclass
class Receiver:
    """An inbox server.  ``answers`` is consumed one per request ((status, headers) or an int);
    when empty it answers ``default``.  ``gate``, when set to an Event, holds requests until the
    event is set.  ``acked`` lists what it answered 2xx to a client that was still there."""

    keys: dict[str, str]
    address: str = "127.0.0.1"
    port: int = 0
    default: int = 202
    answers: deque = field(default_factory=deque)
    gate: asyncio.Event | None = None
    verify: bool = True
    received: list[Received] = field(default_factory=list)
    acked: list[Received] = field(default_factory=list)
    running: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # Notified after each request is answered, so tests wait on a condition, not a clock.
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self.answers = deque(self.answers)

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    def inbox(self, name: str = "inbox") -> str:
        return f"http://{self.host}/{name}"

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Down: connections to the port are refused until start() again (same port)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.running += 1
        try:
            body = await request.read()
            verified, error = True, None
            if self.verify:
                try:
                    verify_request("POST", request.path_qs, request.headers, body, self.keys.get, scheme="http")
                except SignatureError as exc:
                    verified, error = False, str(exc)
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
            item = Received(request.path, data.get("id"), data.get("type"), verified, error, dict(request.headers))
            self.received.append(item)
            self.arrived.set()
            gate = self.gate
            if gate is not None:
                await gate.wait()
            if not verified:
                return web.Response(status=401, text=error)
            answer = self.answers.popleft() if self.answers else self.default
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            if 200 <= status < 300 and request.transport is not None and not request.transport.is_closing():
                self.acked.append(item)
            return web.Response(status=status, headers=headers)
        finally:
            self.running -= 1
            async with self.changed:
                self.changed.notify_all()

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        """Until `predicate()` holds (checked after every answered request)."""
        async with asyncio.timeout(timeout):
            async with self.changed:
                await self.changed.wait_for(predicate)

    def acked_ids(self) -> list[str]:
        return [r.activity_id for r in self.acked]


def note_activity(n: int, kind: str = "Create", obj: str | None = None) -> dict:
    obj = obj or f"http://sender.example/notes/{n}"
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": f"http://sender.example/activities/{kind.lower()}-{n}",
            "type": kind, "actor": SENDER, "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {"id": obj, "type": "Note", "content": f"note {n}", "attributedTo": SENDER}}


@dataclass
class Queue:
    """A sender node's database, with helpers to enqueue and inspect."""

    sessionmaker: object
    public_pem: str
    clock: FakeClock
    workers: list = field(default_factory=list)
    fetchers: list = field(default_factory=list)

    async def enqueue(self, activity: dict, inboxes: list[str]):
        async with self.sessionmaker.begin() as db:
            return await enqueue(db, actor_type="user", actor_id=1, activity=activity, inboxes=inboxes,
                                 now=self.clock())

    async def deliveries(self) -> list[Delivery]:
        async with self.sessionmaker() as db:
            return list(await db.scalars(select(Delivery).order_by(Delivery.id)))

    async def host(self, host: str) -> HostState:
        async with self.sessionmaker() as db:
            return await db.scalar(select(HostState).where(HostState.host == host))

    def worker(self, policy: Policy | None = None, start: bool = True, **options) -> DeliveryWorker:
        fetcher = SafeFetcher(allow_private=True, timeout=5)
        self.fetchers.append(fetcher)
        options = {"clock": self.clock, "rng": lambda: 0.0, "poll_seconds": 5.0, "policy": policy or Policy(),
                   **options}
        worker = DeliveryWorker(self.sessionmaker, fetcher, **options)
        self.workers.append(worker)
        if start:
            worker.start()
        return worker


@pytest_asyncio.fixture
async def queue(migrated):
    engine = make_engine(migrated.database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as db:
        key = await ensure_keys(db, "user", 1)
    q = Queue(sessionmaker, key.rsa_public_pem, FakeClock())
    try:
        yield q
    finally:
        for worker in q.workers:
            if worker._task is not None and not worker._task.done():
                await worker.stop()
        for fetcher in q.fetchers:
            await fetcher.close()
        await engine.dispose()


@pytest_asyncio.fixture
async def receivers(queue):
    """receivers() starts a new receiving server that trusts the sender's key."""
    started: list[Receiver] = []

    async def make(**options) -> Receiver:
        receiver = await Receiver({KEY_ID: queue.public_pem}, **options).start()
        started.append(receiver)
        return receiver

    try:
        yield make
    finally:
        for receiver in started:
            if receiver.gate is not None:
                receiver.gate.set()
            await receiver.stop()
