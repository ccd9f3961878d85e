"""Moderation tables. One `moderations` row per reported or hidden item, keyed by
(subject_type, subject_id) like Decidim's decidim_moderations: content tables stay untouched and
public queries exclude hidden items with one indexed NOT EXISTS."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow

SUBJECT_TYPES = ("proposal", "debate", "comment")
# A copy of another node's proposal, debate or comment in this node's mirror (remote_items):
# this node can hide its copy, and forwards reports to the origin (node.moderation.federation).
REMOTE_SUBJECT = "remote_item"
REASONS = ("spam", "offensive", "does_not_belong", "other")


class Moderation(Base):
    __tablename__ = "moderations"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", name="uq_moderations_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    # Kept in the reporting transaction, so the queue sorts and auto-hide decides without a count.
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None


class Report(Base):
    """A report by a resident (``user_id``) or by another node (``reporter_node``: the actor that
    sent the ActivityPub ``Flag``; the node does not say which of its residents reported)."""

    __tablename__ = "moderation_reports"
    # The constraints, not a check in Python, keep one report per person (or node) per item
    # under races.
    __table_args__ = (UniqueConstraint("moderation_id", "user_id", name="uq_moderation_reports_user"),
                      UniqueConstraint("moderation_id", "reporter_node", name="uq_moderation_reports_node"),
                      CheckConstraint("(user_id IS NULL) <> (reporter_node IS NULL)", name="ck_report_one_reporter"))

    id: Mapped[int] = mapped_column(primary_key=True)
    moderation_id: Mapped[int] = mapped_column(ForeignKey("moderations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reporter_node: Mapped[str | None] = mapped_column(String(2048))
    reason: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def reporter_host(self) -> str:
        return urlsplit(self.reporter_node).netloc if self.reporter_node else ""


class UserBlock(Base):
    """A blocked account: it cannot log in and its profile says so. Unblocking deletes the row
    (the admin log keeps the history)."""

    __tablename__ = "user_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    blocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminAction(Base):
    """Append-only log of what moderators and administrators did."""

    __tablename__ = "admin_actions"
    __table_args__ = (Index("ix_admin_actions_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Dotted name, e.g. "moderation.hide", "user.block", "user.role", "proposal.answer", "node.settings".
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32), default="")
    subject_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
