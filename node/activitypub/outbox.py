"""Putting activities in the outbox: the API the rest of the node uses.

    async with app[DB].begin() as db:
        proposal = ...                       # the change
        await enqueue(db, actor_type="space", actor_id=space.id, activity=create_activity,
                      inboxes=delivery_targets(followers))

`enqueue` runs inside the caller's transaction: the activity and its deliveries commit with the
change or vanish with its rollback, and nothing touches the network before the commit.  After
the commit the delivery workers of this process are woken; workers in other processes find the
work at their next poll.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, insert, select

from federation.delivery import ordering_key, subject_uri
from node.activitypub.delivery_models import PENDING, Delivery, HostState, OutboxActivity
from node.db.base import utcnow

__all__ = ["delivery_targets", "enqueue", "host_of", "register_waker", "unregister_waker", "wake_workers"]

# Callables that wake a delivery worker of this process (registered by the worker on start).
_wakers: set = set()


def register_waker(wake) -> None:
    _wakers.add(wake)


def unregister_waker(wake) -> None:
    _wakers.discard(wake)


def _wake_all(*_args) -> None:
    for wake in list(_wakers):
        wake()


def host_of(url: str) -> str:
    """The host a delivery goes to, with its port when it has one (two nodes on one machine
    are two hosts)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def _get(actor: Any, *names: str):
    for name in names:
        value = actor.get(name) if isinstance(actor, Mapping) else getattr(actor, name, None)
        if value:
            return value
    return None


def _shared(actor: Any) -> str | None:
    endpoints = _get(actor, "endpoints")
    if isinstance(endpoints, Mapping) and isinstance(endpoints.get("sharedInbox"), str):
        return endpoints["sharedInbox"]
    return _get(actor, "shared_inbox", "shared_inbox_url", "sharedInbox")


def delivery_targets(remote_actors: Iterable[Any]) -> list[str]:
    """The inbox URLs to deliver one activity to ``remote_actors`` (actor documents or objects
    with ``inbox``/``shared_inbox`` attributes): recipients sharing a shared inbox get one POST
    to it when there are several of them; a lone recipient gets its own inbox (which needs no
    addressing logic on the receiver's side).  Order is kept, duplicates dropped."""
    actors = list(remote_actors)
    sharing: dict[str, int] = {}
    for actor in actors:
        shared = _shared(actor)
        if shared:
            sharing[shared] = sharing.get(shared, 0) + 1
    targets: dict[str, None] = {}
    for actor in actors:
        shared, own = _shared(actor), _get(actor, "inbox", "inbox_url")
        target = shared if shared and (sharing[shared] > 1 or not own) else own
        if isinstance(target, str) and target:
            targets[target] = None
    return list(targets)


def _valid(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def enqueue(db, *, actor_type: str, actor_id: int, activity: dict, inboxes: Iterable[str],
                  now: datetime | None = None) -> OutboxActivity:
    """Record ``activity`` (signed later by the local actor ``actor_type``/``actor_id``) and one
    delivery per distinct inbox.  Enqueuing an activity id again adds only the new inboxes."""
    activity_uri, activity_type = activity.get("id"), activity.get("type")
    if not isinstance(activity_uri, str) or not activity_uri or not isinstance(activity_type, str):
        raise ValueError("an outgoing activity needs an id and a type")
    if not isinstance(activity.get("actor"), str):
        raise ValueError("an outgoing activity needs its actor's id (the signing key is actor#main-key)")
    now = now or utcnow()
    row = await db.scalar(select(OutboxActivity).where(OutboxActivity.activity_uri == activity_uri))
    if row is None:
        about = subject_uri(activity)
        row = OutboxActivity(activity_uri=activity_uri, actor_type=actor_type, actor_id=actor_id,
                             activity_type=activity_type[:32], object_uri=about[:2048], body=activity,
                             created_at=now)
        db.add(row)
        await db.flush()
        known: set[str] = set()
    else:
        known = set(await db.scalars(select(Delivery.inbox_url).where(Delivery.outbox_activity_id == row.id)))
    urls = [u for u in dict.fromkeys(inboxes) if isinstance(u, str) and _valid(u) and u not in known]
    if not urls:
        return row
    key = ordering_key(row.object_uri or activity_uri)
    rows = [{"outbox_activity_id": row.id, "inbox_url": url, "host": host_of(url), "object_key": key,
             "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now} for url in urls]
    await _ensure_hosts(db, {r["host"] for r in rows})
    await db.execute(insert(Delivery), rows)
    _wake_after_commit(db)
    return row


async def _ensure_hosts(db, hosts: set[str]) -> None:
    """A HostState row per host, so that the worker can always lock one (insert-if-missing:
    concurrent enqueues to a new host must not fail on the unique constraint)."""
    existing = set(await db.scalars(select(HostState.host).where(HostState.host.in_(hosts))))
    missing = [{"host": h, "consecutive_failures": 0} for h in sorted(hosts - existing)]
    if not missing:
        return
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    await db.execute(dialect_insert(HostState).on_conflict_do_nothing(index_elements=["host"]), missing)


def _wake_after_commit(db) -> None:
    # Once per transaction.  A rollback leaves the listener on a session that is thrown away;
    # were it reused and committed, the worker would wake for nothing, which costs one query.
    session = db.sync_session
    if session.info.get("civicnode_wake_outbox"):
        return
    session.info["civicnode_wake_outbox"] = True

    def after_commit(sync_session) -> None:
        sync_session.info.pop("civicnode_wake_outbox", None)
        _wake_all()

    event.listen(session, "after_commit", after_commit, once=True)


def wake_workers() -> None:
    """Wake this process's workers now (after an admin action, or from tests)."""
    _wake_all()

