"""Local follows, in-app notifications and the events the notifier has already handled."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow

SUBJECT_TYPES = ("space", "proposal", "debate", "user")
EMAIL_MODES = ("none", "immediate", "daily")  # users.notification_email


class Follow(Base):
    """A local user follows a space, a proposal, a debate or another user (remote follows of a
    space's Group are SpaceFollower rows, in node.activitypub)."""

    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("user_id", "subject_type", "subject_id"),
                      Index("ix_follows_subject", "subject_type", "subject_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    __tablename__ = "notifications"
    # One per person and event: two notifiers racing on one event insert the same rows.
    __table_args__ = (UniqueConstraint("user_id", "event_id"),
                      # The header's unread count reads only this index.
                      Index("ix_notifications_user_unread", "user_id", "read_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # comment, answer, amendment, mention, phase, new_item, group_* (node.notifications.texts)
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When a partner node's resident did it from their node (co-hosted spaces, node.cohosting):
    # "Name (home host)" as it was then, as their comments and proposals show them.
    actor_name: Mapped[str | None] = mapped_column(String(300))
    # What it is about, as it was when it happened: a title can be edited, a page moved; the
    # list is then one query with no per-kind joins.  Translated title {lang: text}.
    title: Mapped[dict] = mapped_column(JSON, default=dict)
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it went out by mail (immediately or in a digest); None: not (yet) mailed.
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotifiedEvent(Base):
    """Events the notifier has handled (each exactly once), like published_events for federation."""

    __tablename__ = "notified_events"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
