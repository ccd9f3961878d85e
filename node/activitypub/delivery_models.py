"""The outbox and its delivery queue (see node.activitypub.outbox and node.activitypub.worker).

An activity is a row before any network I/O happens, written in the transaction of the change
that caused it; each recipient inbox is a Delivery row the worker claims, sends and records.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow

# Delivery.status values. pending and in_flight are live; the other three are final.
PENDING, IN_FLIGHT, DELIVERED, FAILED, SKIPPED = "pending", "in_flight", "delivered", "failed", "skipped"
LIVE = (PENDING, IN_FLIGHT)


class OutboxActivity(Base):
    __tablename__ = "outbox_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    # The local actor whose key signs the deliveries ("node", "space", "user"; as actor_keys).
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(Integer, default=0)
    activity_type: Mapped[str] = mapped_column(String(32))
    # What the activity is about (innermost object), for ordering and for the admin page.
    object_uri: Mapped[str | None] = mapped_column(String(2048))
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Delivery(Base):
    """One POST of one activity to one inbox.

    Ordering: the id is the sequence.  Deliveries to one host about one object (object_key) go
    in outbox order: a delivery waits while an earlier activity's delivery to the same host and
    object is still live.  Ids follow insertion order, and an Update can only be enqueued after
    the transaction that enqueued its Create committed, so outbox order is causal order.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_activity_id", "inbox_url"),
        # The claim query: due live deliveries, and "is an earlier one to this host still live".
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_ordering", "host", "object_key", "outbox_activity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_activity_id: Mapped[int] = mapped_column(ForeignKey("outbox_activities.id", ondelete="CASCADE"))
    inbox_url: Mapped[str] = mapped_column(String(2048))
    host: Mapped[str] = mapped_column(String(255))
    object_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set while in_flight: who claimed it and until when; past lease_until another worker may
    # take it back (the claimant is presumed dead).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HostState(Base):
    """Health of a receiving host (host[:port]), for the circuit breaker and unavailability
    (rules in federation.delivery).  A row exists for every host something was queued for."""

    __tablename__ = "delivery_hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unavailable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
