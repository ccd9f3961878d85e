"""node.activitypub.outbox: enqueue inside the caller's transaction, inbox grouping, and the
in-process worker that the application starts."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from node.activitypub.delivery import mark_host_alive
from node.activitypub.delivery_models import Delivery, HostState, OutboxActivity
from node.activitypub.outbox import delivery_targets, enqueue, host_of
from node.activitypub.worker import DELIVERY
from node.app import create_app
from node.appkeys import DB, SETTINGS
from tests.delivery_support import note_activity, queue, receivers  # noqa: F401


def actor(host: str, name: str, shared: bool = True) -> dict:
    doc = {"id": f"https://{host}/users/{name}", "inbox": f"https://{host}/users/{name}/inbox"}
    if shared:
        doc["endpoints"] = {"sharedInbox": f"https://{host}/inbox"}
    return doc


def test_delivery_targets_prefers_a_shared_inbox_when_several_share_it():
    followers = [actor("a.example", "ana"), actor("a.example", "bo"), actor("a.example", "bo"),
                 actor("b.example", "cy"), actor("c.example", "di", shared=False),
                 SimpleNamespace(inbox="https://d.example/u/ed/inbox", shared_inbox="https://d.example/inbox"),
                 SimpleNamespace(inbox_url="https://d.example/u/fa/inbox", shared_inbox_url="https://d.example/inbox")]
    assert delivery_targets(followers) == [
        "https://a.example/inbox",           # three recipients, one POST
        "https://b.example/users/cy/inbox",  # alone on its host: its own inbox
        "https://c.example/users/di/inbox",
        "https://d.example/inbox",           # objects (remote actor rows) work too
    ]


def test_host_keeps_the_port():
    assert host_of("https://City.Example/inbox") == "city.example"
    assert host_of("http://127.0.0.1:8081/inbox") == "127.0.0.1:8081"


async def test_enqueue_dedupes_and_adds_only_new_inboxes(queue):
    inboxes = ["https://a.example/inbox", "https://a.example/inbox", "https://b.example/inbox", "ftp://c.example/x"]
    await queue.enqueue(note_activity(1), inboxes)
    await queue.enqueue(note_activity(1), ["https://b.example/inbox", "https://c.example/inbox"])
    rows = await queue.deliveries()
    assert [d.inbox_url for d in rows] == ["https://a.example/inbox", "https://b.example/inbox",
                                           "https://c.example/inbox"]
    assert len({d.outbox_activity_id for d in rows}) == 1
    async with queue.sessionmaker() as db:
        assert set(await db.scalars(select(HostState.host))) == {"a.example", "b.example", "c.example"}
        row = await db.scalar(select(OutboxActivity))
    assert (row.activity_type, row.object_uri) == ("Create", "http://sender.example/notes/1")


async def test_enqueue_refuses_an_activity_without_id_or_actor(queue):
    async with queue.sessionmaker.begin() as db:
        with pytest.raises(ValueError):
            await enqueue(db, actor_type="user", actor_id=1, activity={"type": "Create"}, inboxes=[])
        with pytest.raises(ValueError):
            await enqueue(db, actor_type="user", actor_id=1, activity={"id": "x", "type": "Create"}, inboxes=[])


async def test_a_rolled_back_enqueue_sends_nothing(queue, receivers):
    receiver = await receivers()
    worker = queue.worker()

    class Oops(Exception):
        pass

    with pytest.raises(Oops):
        async with queue.sessionmaker.begin() as db:
            await enqueue(db, actor_type="user", actor_id=1, activity=note_activity(1),
                          inboxes=[receiver.inbox()], now=queue.clock())
            raise Oops  # the change that caused the activity failed
    await worker.until_idle()
    assert receiver.received == []
    async with queue.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(OutboxActivity)) == 0
        assert await db.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_mark_host_alive_is_a_read_for_a_healthy_host(queue):
    await queue.enqueue(note_activity(1), ["https://a.example/inbox"])
    async with queue.sessionmaker.begin() as db:
        assert await mark_host_alive(db, "https://a.example/users/x") is False
        assert await mark_host_alive(db, "unknown.example") is False


@pytest.fixture
def app(migrated):
    # A poll interval far beyond the wait below: only the commit's wake-up can deliver in time.
    migrated.delivery_poll_seconds = 3600
    return create_app(migrated)


async def test_the_application_runs_a_worker_woken_by_commits(app, server, queue, receivers):
    receiver = await receivers()
    assert app[DELIVERY]["worker"].poll_seconds == 3600
    app[SETTINGS].allow_private_addresses = True  # read when the first delivery makes the client
    async with app[DB].begin() as db:
        await enqueue(db, actor_type="user", actor_id=1, activity=note_activity(7), inboxes=[receiver.inbox()])
    # No poll interval to wait for: the commit woke the worker.
    await receiver.wait_for(lambda: receiver.acked, timeout=30)
    assert receiver.acked[0].verified
    await app[DELIVERY]["worker"].until_idle(timeout=5)
    assert (await queue.deliveries())[0].status == "delivered"
