"""Participation events (state answered, amendment proposed, comment posted, phase changed…).

Components record what happened here, in the same transaction as the change; the
notifications capability reads this table to tell authors and followers. Append-only.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow
from node.db.engine import EVENT_LISTENERS


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Dotted name, e.g. "proposal.answered", "proposal.amended", "comment.created".
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column()
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


async def record_event(db, kind: str, *, subject_type: str, subject_id: int, actor_id: int | None = None,
                       space_id: int | None = None, data: dict | None = None) -> Event:
    event = Event(kind=kind, subject_type=subject_type, subject_id=subject_id, actor_id=actor_id,
                  space_id=space_id, data=data or {})
    db.add(event)
    _notify_after_commit(db)
    return event


def on_events_committed(sessionmaker, callback, *, add: bool = True) -> None:
    """Call `callback` after each commit, through a session of `sessionmaker`, that recorded
    events.  The set lives in the sessionmaker's session info (node.db.make_sessionmaker), so two
    nodes in one process (tests, `civicnode demo`) never wake each other's processors."""
    listeners = sessionmaker.kw.get("info", {}).get(EVENT_LISTENERS)
    if listeners is None:
        raise ValueError("this sessionmaker was not made by node.db.make_sessionmaker")
    (listeners.add if add else listeners.discard)(callback)


def _notify_after_commit(db) -> None:
    session = getattr(db, "sync_session", db)
    listeners = session.info.get(EVENT_LISTENERS)
    if not listeners or session.info.get("civicnode_events_listener"):
        return
    session.info["civicnode_events_listener"] = True

    def after_commit(sync_session) -> None:
        sync_session.info.pop("civicnode_events_listener", None)
        for callback in list(listeners):
            callback()

    sqlalchemy_event.listen(session, "after_commit", after_commit, once=True)


class EventProcessor:
    """A background task of `civicnode serve` that handles committed events (the federation
    publisher, the notifier): woken when a transaction that recorded events commits, and every
    ``poll_seconds`` for events committed by other processes.  Subclasses implement
    ``run_round()``, which handles what is pending; an exception is logged and retried next round."""

    def __init__(self, sessionmaker, poll_seconds: float, grace_seconds: float = 10.0):
        self.sessionmaker, self.poll_seconds, self.grace_seconds = sessionmaker, poll_seconds, grace_seconds
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    async def run_round(self) -> None:
        raise NotImplementedError

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        on_events_committed(self.sessionmaker, self.wake, add=True)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Let the round under way finish (up to grace_seconds), then end the loop.  Cancelling
        in the middle of a round would abandon a transaction inside the database driver, where
        SQLite keeps its write lock until the connection is reset."""
        on_events_committed(self.sessionmaker, self.wake, add=False)
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _pending = await asyncio.wait([self._task], timeout=self.grace_seconds)
        if not done:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def until_idle(self, timeout: float = 30.0) -> None:
        """Return once a round that began after this call has finished with nothing new to do
        (tests, `civicnode demo`)."""
        self.wake()
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before the round: a wake during it is not lost
            try:
                await self.run_round()
            except Exception:
                logging.getLogger(f"civicnode.{type(self).__name__.lower()}").exception("handling events failed")
            if not self._wake.is_set():
                self._idle.set()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass
