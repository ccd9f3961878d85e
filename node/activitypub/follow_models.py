"""Tables of following, on both sides of a Follow.

Host side (a space other nodes follow): ``space_followers`` — who gets the space Group's
Announces — and ``published_events``, which participation events were already turned into
Announces (so a restart publishes each exactly once).

Follower side (a resident follows a space of another node): ``remote_spaces`` (the Group as last
fetched), ``remote_follows`` (which local user follows it, pending until the Group's Accept) and
``remote_items`` — the read-only mirror of what the Group announced: proposals (Article), debates
(Note without inReplyTo) and comments (Note with inReplyTo), sanitised when stored.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.activitypub.models import URI
from node.db.base import Base, UTCDateTime, utcnow

FOLLOW_STATES = ("pending", "accepted", "rejected")
ITEM_KINDS = ("proposal", "debate", "comment")


class SpaceFollower(Base):
    __tablename__ = "space_followers"
    __table_args__ = (UniqueConstraint("space_id", "actor_uri", name="uq_space_followers_actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    actor_uri: Mapped[str] = mapped_column(String(URI))
    inbox: Mapped[str] = mapped_column(String(URI))
    shared_inbox: Mapped[str | None] = mapped_column(String(URI))
    # The Follow's id: an Undo names it, and a repeated Follow (a lost Accept) is answered again.
    follow_activity_id: Mapped[str] = mapped_column(String(URI))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublishedEvent(Base):
    """An event the publisher has handled (announced, or found nothing to announce)."""

    __tablename__ = "published_events"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemoteSpace(Base):
    __tablename__ = "remote_spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(URI), unique=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    handle: Mapped[str] = mapped_column(String(512))  # slug@host, what people type
    name: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(URI))
    inbox: Mapped[str] = mapped_column(String(URI))
    outbox: Mapped[str | None] = mapped_column(String(URI))
    federation_policy: Mapped[str] = mapped_column(String(16), default="")
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    backfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RemoteFollow(Base):
    __tablename__ = "remote_follows"
    __table_args__ = (UniqueConstraint("remote_space_id", "user_id", name="uq_remote_follows_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    remote_space_id: Mapped[int] = mapped_column(ForeignKey("remote_spaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    follow_activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # FOLLOW_STATES
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RemoteItem(Base):
    __tablename__ = "remote_items"
    __table_args__ = (Index("ix_remote_items_space_kind", "remote_space_id", "kind", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    remote_space_id: Mapped[int] = mapped_column(ForeignKey("remote_spaces.id", ondelete="CASCADE"))
    uri: Mapped[str] = mapped_column(String(URI), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # ITEM_KINDS
    in_reply_to: Mapped[str | None] = mapped_column(String(URI), index=True)
    attributed_to: Mapped[str] = mapped_column(String(URI))
    name: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")  # sanitised on the way in
    url: Mapped[str] = mapped_column(String(URI))
    state: Mapped[str | None] = mapped_column(String(32))
    support_count: Mapped[int | None] = mapped_column()  # None: the origin does not show it
    fingerprint: Mapped[str | None] = mapped_column(String(128))
    alignment: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(255))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def edited_at(self) -> datetime | None:
        """When its author last changed it. Origins carry `updated` only once a thing is edited,
        and to the second: comparing it with `published` misses an edit made in the same second."""
        edited = isinstance(self.document, dict) and self.document.get("updated")
        return self.updated if edited and self.deleted_at is None else None
