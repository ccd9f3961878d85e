"""Proposals, their published versions, supports and amendments."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow

STATES = ("not_answered", "evaluating", "accepted", "rejected", "withdrawn")
ANSWER_STATES = ("not_answered", "evaluating", "accepted", "rejected")
AMENDMENT_STATES = ("pending", "accepted", "rejected")


class Proposal(Base):
    __tablename__ = "proposals"
    # The list page filters by component and sorts by one of these; each sort has its index so
    # that the first page of 5,000 proposals is an index scan, not a sort.
    __table_args__ = (
        Index("ix_proposals_component_created", "component_id", "created_at"),
        Index("ix_proposals_component_supports", "component_id", "support_count"),
        Index("ix_proposals_component_comments", "component_id", "comments_count"),
        # Covers the list's count (component, state filter) without reading the wide rows.
        Index("ix_proposals_component_state", "component_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # A proposal born on another node and accepted into this space (node.cohosting.shared): its
    # id there and its author's actor there; None for proposals written here.
    origin_uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    origin_author_uri: Mapped[str | None] = mapped_column(String(2048))
    # Written by a partner node's resident from their own node (node.cohosting.proposals_host):
    # author_id is None, origin_author_uri their actor; shown as "Name (their node)".
    remote_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("remote_participants.id", ondelete="SET NULL"), index=True)
    # Published on behalf of this verified group (node.groups); the author stays the person.
    user_group_id: Mapped[int | None] = mapped_column(ForeignKey("user_groups.id", ondelete="SET NULL"))
    # The current published text; every published text is also a ProposalVersion row.
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="not_answered")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version_number: Mapped[int] = mapped_column(Integer, default=1)
    # Supports that count in public totals (see supports.py for the "minimum supports per user"
    # rule); kept in the same transaction as the Support rows so lists never count rows.
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    # Maintained by the comments component, for the "most commented" order.
    comments_count: Mapped[int] = mapped_column(Integer, default=0)


class ProposalVersion(Base):
    __tablename__ = "proposal_versions"
    __table_args__ = (UniqueConstraint("proposal_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who published this text (the proposal's author); an accepted amendment credits its writer.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_amendments.id", ondelete="SET NULL"))
    # The exact JCS bytes (UTF-8) the fingerprint was computed from, kept verbatim so anyone can
    # recompute it even if a username or the node's address changes later.
    canonical_json: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))


class Support(Base):
    __tablename__ = "proposal_supports"
    # The database decides double supports (two clicks, two tabs, two workers), not a check.
    # A support is a local user's or a partner node's resident's (node.cohosting): exactly one
    # of user_id and participant_id is set; NULLs do not collide in either unique constraint.
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),
                      UniqueConstraint("proposal_id", "participant_id", name="uq_proposal_supports_participant"),
                      CheckConstraint("(user_id IS NULL) <> (participant_id IS NULL)", name="ck_support_one_person"),
                      Index("ix_proposal_supports_user_component", "user_id", "component_id"),
                      Index("ix_proposal_supports_participant_component", "participant_id", "component_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("remote_participants.id", ondelete="CASCADE"))
    # Denormalised so that "how many supports did this person give here" is one index lookup.
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    # False while the person has given fewer supports than the component's minimum.
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Amendment(Base):
    __tablename__ = "proposal_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The version this amendment became, once accepted.
    version_number: Mapped[int | None] = mapped_column(Integer)
