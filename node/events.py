"""Participation events (state answered, amendment proposed, comment posted, phase changed…).

Components record what happened here, in the same transaction as the change; the
notifications capability reads this table to tell authors and followers. Append-only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow


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


# Callables told when a transaction that recorded events commits (the federation publisher).
_listeners: set = set()


def on_events_committed(callback, *, add: bool = True) -> None:
    (_listeners.add if add else _listeners.discard)(callback)


def _notify_after_commit(db) -> None:
    session = getattr(db, "sync_session", db)
    if not _listeners or session.info.get("civicnode_events_listener"):
        return
    session.info["civicnode_events_listener"] = True

    def after_commit(sync_session) -> None:
        sync_session.info.pop("civicnode_events_listener", None)
        for callback in list(_listeners):
            callback()

    sqlalchemy_event.listen(session, "after_commit", after_commit, once=True)
