"""Federation tables of the inbox side: remote actors we know, activities we received, and the
instance policy (blocked / allowed hosts).  The delivery side has its own, in delivery_models."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow

# Long enough for any real activity id; the inbox refuses longer ones before storing anything.
URI = 2048

INBOX_STATUSES = ("received", "processed", "ignored", "failed")
INSTANCE_POLICIES = ("block", "allow")


class RemoteActorRecord(Base):
    """A fetched remote actor document, so a restart does not refetch every actor and several
    serve processes share one cache.  Expires after a day; a key rotation refetches it early."""

    __tablename__ = "remote_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(URI), unique=True)
    key_id: Mapped[str] = mapped_column(String(URI), index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    inbox: Mapped[str] = mapped_column(String(URI))
    shared_inbox: Mapped[str | None] = mapped_column(String(URI))
    preferred_username: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    document: Mapped[dict] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxActivity(Base):
    """Every activity the inbox accepted.  The unique activity_id is what makes the inbox
    idempotent: of concurrent identical POSTs, exactly one insert succeeds."""

    __tablename__ = "inbox_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    actor: Mapped[str] = mapped_column(String(URI), index=True)
    type: Mapped[str] = mapped_column(String(64))
    # The local actor whose inbox it was POSTed to; None for the shared inbox.
    recipient: Mapped[str | None] = mapped_column(String(URI))
    key_id: Mapped[str] = mapped_column(String(URI))
    body: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="received")  # INBOX_STATUSES
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InstancePolicy(Base):
    """An admin's decision about a remote host: ``block`` (always refused) or ``allow`` (the
    partners a node in allowlist mode federates with).  ``host`` is a domain (covering its
    subdomains) or ``host:port``."""

    __tablename__ = "instance_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    policy: Mapped[str] = mapped_column(String(8))  # INSTANCE_POLICIES
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
