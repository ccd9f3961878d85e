"""The delivery worker over real HTTP: receivers on 127.0.0.1 check the signatures and answer
what each test tells them; time moves with an injected clock, never by waiting."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from federation.delivery import Policy
from node.activitypub.outbox import delivery_targets
from tests.delivery_support import KEY_ID, note_activity, queue, receivers  # noqa: F401


async def test_delivered_once_and_signed(queue, receivers):
    receiver = await receivers()
    worker = queue.worker()
    activity = note_activity(1)
    await queue.enqueue(activity, [receiver.inbox()])
    await worker.until_idle()
    [got] = receiver.received
    assert got.verified, got.error
    assert got.activity_id == activity["id"] and got.path == "/inbox"
    assert f'keyId="{KEY_ID}"' in got.headers["Signature"]
    assert 'headers="(request-target) host date digest"' in got.headers["Signature"]
    assert got.headers["Content-Type"] == "application/activity+json"
    [delivery] = await queue.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 1, 202)
    queue.clock.advance(days=1)
    await worker.until_idle()
    assert len(receiver.received) == 1
    assert (await queue.host(receiver.host)).last_success_at is not None


async def test_shared_inbox_grouping_sends_one_post(queue, receivers):
    receiver = await receivers()
    followers = [{"id": f"http://{receiver.host}/users/{name}", "inbox": receiver.inbox(f"users/{name}/inbox"),
                  "endpoints": {"sharedInbox": receiver.inbox("inbox")}} for name in ("ana", "bo", "cy")]
    worker = queue.worker()
    await queue.enqueue(note_activity(1), delivery_targets(followers))
    await worker.until_idle()
    assert [r.path for r in receiver.received] == ["/inbox"]


async def test_retry_after_500_then_success(queue, receivers):
    receiver = await receivers(answers=[500])
    worker = queue.worker()
    await queue.enqueue(note_activity(1), [receiver.inbox()])
    await worker.until_idle()
    [delivery] = await queue.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    # attempts⁴ + 15 s (no jitter in tests): nothing before 16 s, the retry after.
    assert delivery.next_attempt_at == queue.clock() + timedelta(seconds=16)
    queue.clock.advance(seconds=15)
    await worker.until_idle()
    assert len(receiver.received) == 1
    queue.clock.advance(seconds=2)
    await worker.until_idle()
    assert len(receiver.received) == 2 and len(receiver.acked) == 1
    [delivery] = await queue.deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


@pytest.mark.parametrize("status", [400, 403, 404, 410])
async def test_no_retry_on_permanent_client_errors(queue, receivers, status):
    receiver = await receivers(default=status)
    worker = queue.worker()
    await queue.enqueue(note_activity(1), [receiver.inbox()])
    await worker.until_idle()
    queue.clock.advance(days=3)
    await worker.until_idle()
    assert len(receiver.received) == 1
    [delivery] = await queue.deliveries()
    assert (delivery.status, delivery.last_status) == ("failed", status)
    host = await queue.host(receiver.host)
    assert host.consecutive_failures == 0  # it answered: the host is up


@pytest.mark.parametrize("status", [401, 408, 429, 502])
async def test_retry_on_401_408_429_and_5xx(queue, receivers, status):
    receiver = await receivers(answers=[status])
    worker = queue.worker()
    await queue.enqueue(note_activity(1), [receiver.inbox()])
    await worker.until_idle()
    [delivery] = await queue.deliveries()
    assert (delivery.status, delivery.last_status) == ("pending", status)
    queue.clock.advance(minutes=1)
    await worker.until_idle()
    [delivery] = await queue.deliveries()
    assert delivery.status == "delivered" and len(receiver.acked) == 1


async def test_gives_up_after_sixteen_attempts(queue, receivers):
    receiver = await receivers(default=503)
    worker = queue.worker(Policy(breaker_threshold=1000, unavailable_after=timedelta(days=365)))
    await queue.enqueue(note_activity(1), [receiver.inbox()])
    for _ in range(20):
        await worker.until_idle()
        queue.clock.advance(days=1)
    [delivery] = await queue.deliveries()
    assert (delivery.status, delivery.attempts) == ("failed", 16)
    assert "gave up after 16 attempts" in delivery.last_error
    assert len(receiver.received) == 16


async def test_retry_after_is_honoured(queue, receivers):
    receiver = await receivers(answers=[(429, {"Retry-After": "3600"})])
    worker = queue.worker()
    await queue.enqueue(note_activity(1), [receiver.inbox()])
    await worker.until_idle()
    [delivery] = await queue.deliveries()
    assert delivery.next_attempt_at == queue.clock() + timedelta(hours=1)
    # The host asked for quiet: another activity to it waits too.
    await queue.enqueue(note_activity(2), [receiver.inbox()])
    queue.clock.advance(minutes=59)
    await worker.until_idle()
    assert len(receiver.received) == 1
    queue.clock.advance(minutes=2)
    await worker.until_idle()
    assert sorted(receiver.acked_ids()) == [note_activity(1)["id"], note_activity(2)["id"]]


async def test_circuit_breaker_opens_then_half_opens(queue, receivers):
    receiver = await receivers(default=500)
    policy = Policy(breaker_threshold=3, breaker_cooldown=timedelta(minutes=1))
    worker = queue.worker(policy)
    for n in range(3):
        await queue.enqueue(note_activity(n), [receiver.inbox()])
    await worker.until_idle()
    assert len(receiver.received) == 3
    host = await queue.host(receiver.host)
    assert host.consecutive_failures == 3
    assert host.circuit_open_until == queue.clock() + timedelta(minutes=1)
    # Open: even a new activity is not sent.
    await queue.enqueue(note_activity(3), [receiver.inbox()])
    queue.clock.advance(seconds=30)
    await worker.until_idle()
    assert len(receiver.received) == 3
    # Half-open: exactly one probe; it fails, the circuit re-opens for twice as long.
    queue.clock.advance(seconds=31)
    await worker.until_idle()
    assert len(receiver.received) == 4
    host = await queue.host(receiver.host)
    assert host.consecutive_failures == 4
    assert host.circuit_open_until == queue.clock() + timedelta(minutes=2)
    # The host recovers: the next probe succeeds and everything waiting goes.
    receiver.default = 202
    queue.clock.advance(minutes=2, seconds=1)
    await worker.until_idle()
    assert sorted(receiver.acked_ids()) == sorted(note_activity(n)["id"] for n in range(4))
    host = await queue.host(receiver.host)
    assert (host.consecutive_failures, host.circuit_open_until) == (0, None)
    assert {d.status for d in await queue.deliveries()} == {"delivered"}


async def test_unavailable_host_is_skipped_then_recovers(queue, receivers):
    from node.activitypub.delivery import mark_host_alive

    receiver = await receivers()
    await receiver.stop()  # down: connection refused
    worker = queue.worker(Policy(unavailable_probe_interval=timedelta(hours=1)))
    await queue.enqueue(note_activity(1), [receiver.inbox()])
    await worker.until_idle()
    queue.clock.advance(days=7, minutes=1)
    await worker.until_idle()
    host = await queue.host(receiver.host)
    assert host.unavailable_since == queue.clock()
    [first] = await queue.deliveries()
    assert first.status == "skipped" and "host unavailable" in first.last_error
    # While unavailable (and before the next probe), new deliveries are skipped, not queued.
    await queue.enqueue(note_activity(2), [receiver.inbox()])
    await worker.until_idle()
    assert [d.status for d in await queue.deliveries()] == ["skipped", "skipped"]
    # After the probe interval the next delivery is a probe; the host is back, so it recovers.
    await receiver.start()
    queue.clock.advance(hours=1, seconds=1)
    await queue.enqueue(note_activity(3), [receiver.inbox()])
    await worker.until_idle()
    assert receiver.acked_ids() == [note_activity(3)["id"]]
    host = await queue.host(receiver.host)
    assert (host.unavailable_since, host.consecutive_failures) == (None, 0)
    # An activity received from a host makes it available again at once (the inbox calls this).
    async with queue.sessionmaker.begin() as db:
        row = await db.get(type(host), host.id)
        row.unavailable_since, row.consecutive_failures = queue.clock(), 50
        row.first_failure_at = queue.clock() - timedelta(days=8)
        row.circuit_open_until = queue.clock() + timedelta(hours=1)
    async with queue.sessionmaker.begin() as db:
        assert await mark_host_alive(db, receiver.inbox(), now=queue.clock())
    await queue.enqueue(note_activity(4), [receiver.inbox()])
    await worker.until_idle()
    assert receiver.acked_ids()[-1] == note_activity(4)["id"]


async def test_create_update_delete_stay_in_order_at_one_host(queue, receivers):
    receiver = await receivers(answers=[500])  # the Create's first attempt fails
    other = await receivers()
    worker = queue.worker()
    obj = "http://sender.example/notes/42"
    kinds = ("Create", "Update", "Delete")
    for kind in kinds:  # three transactions, as three edits would be
        await queue.enqueue(note_activity(42, kind, obj), [receiver.inbox(), other.inbox()])
    await worker.until_idle()
    assert [r.activity_type for r in receiver.received] == ["Create"]
    assert [r.activity_type for r in other.acked] == list(kinds)  # a failing host holds up only itself
    queue.clock.advance(minutes=1)
    await worker.until_idle()
    assert [r.activity_type for r in receiver.acked] == list(kinds)
    assert [r.activity_type for r in receiver.received] == ["Create", "Create", "Update", "Delete"]


async def test_worker_killed_mid_post_resends_once_after_restart(queue, receivers):
    receiver = await receivers(gate=asyncio.Event())
    first = queue.worker()
    activity = note_activity(1)
    await queue.enqueue(activity, [receiver.inbox()])
    async with asyncio.timeout(5):
        await receiver.arrived.wait()
    first._task.cancel()  # the process dies while the POST is in flight: no clean-up runs
    with pytest.raises(asyncio.CancelledError):
        await first._task
    [delivery] = await queue.deliveries()
    assert delivery.status == "in_flight"
    held, receiver.gate = receiver.gate, None
    second = queue.worker()
    await second.until_idle()
    assert len(receiver.received) == 1  # the lease has not run out: the row is still claimed
    queue.clock.advance(minutes=6)
    await second.until_idle()
    held.set()  # the abandoned request finally completes, to nobody
    await receiver.wait_for(lambda: not receiver.running, timeout=5)
    assert receiver.acked_ids() == [activity["id"]]
    [delivery] = await queue.deliveries()
    assert delivery.status == "delivered"


async def test_acknowledged_delivery_is_not_sent_again_after_a_crash(queue, receivers):
    receiver = await receivers()
    first = queue.worker()
    await queue.enqueue(note_activity(1), [receiver.inbox()])
    await first.until_idle()
    first._task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first._task
    second = queue.worker()
    queue.clock.advance(hours=1)
    await second.until_idle()
    assert len(receiver.received) == 1
