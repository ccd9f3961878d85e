"""Draws of proposals (announced, then drawn from a third party's value) and the citizens'
panels selected in the admin."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, Translated, UTCDateTime, utcnow


class Draw(Base):
    """Everything but `candidates`, `seed_*`, `result` and `drawn_at` is fixed at announcement;
    those are written once, and no code path writes a drawn draw again (node.components.
    sortitions.draws)."""

    __tablename__ = "sortition_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    title: Mapped[dict] = mapped_column(Translated)
    # Where the candidates come from: accepted proposals of this component (one category, or all
    # when empty). Kept as a URI too, so the published rule survives the component's deletion.
    proposals_component_id: Mapped[int | None] = mapped_column(ForeignKey("components.id", ondelete="SET NULL"))
    proposals_component_uri: Mapped[str] = mapped_column(String(2048))
    category: Mapped[str] = mapped_column(String(100), default="")
    count: Mapped[int] = mapped_column(Integer)
    # "external": a value a third party publishes after draw_at, typed in by an administrator.
    # "commit-reveal": the hash of secrets committed before draw_at by the participating nodes
    # (node.components.sortitions.commit_reveal).
    seed_method: Mapped[str] = mapped_column(String(16), default="external")
    # commit-reveal only: the participating node actors (the host's first), fixed at announcement.
    participants: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    commit_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reveal_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the host asked the partners for their reveals (once, at the first step after draw_at).
    reveals_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed_source: Mapped[dict] = mapped_column(Translated)
    seed_source_url: Mapped[str] = mapped_column(String(2048), default="")
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    announced_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    draw_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{"id": URI, "fingerprint": hex, "title": text}] in canonical order, as they stood at draw_at.
    candidates: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    candidates_frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed_value: Mapped[str | None] = mapped_column(Text)
    seed_normalised: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[str | None] = mapped_column(String(64))
    seed_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed_entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Candidate ids in the order drawn.
    result: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DrawCommitment(Base):
    """Host side of a commit-reveal draw: one participant's commitment, then its reveal once it
    matched. Both are written once (conditional updates)."""

    __tablename__ = "sortition_draw_commitments"
    __table_args__ = (UniqueConstraint("draw_id", "node_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("sortition_draws.id", ondelete="CASCADE"), index=True)
    node_uri: Mapped[str] = mapped_column(String(2048))
    commitment: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reveal: Mapped[str | None] = mapped_column(String(64))
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DrawSecret(Base):
    """Participant side (the host included): the secret this node committed to, kept until the
    draw time, then revealed to the host. Never published before that."""

    __tablename__ = "sortition_draw_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    host_node_uri: Mapped[str] = mapped_column(String(2048))
    # Empty for the host's own draws: its reveal is written directly.
    host_inbox: Mapped[str] = mapped_column(String(2048), default="")
    secret: Mapped[str] = mapped_column(String(64))
    draw_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PanelSelection(Base):
    """A citizens' panel selected in the admin. The respondents' file is not kept: only what
    the result shows (ids, probabilities, the quota table's counts)."""

    __tablename__ = "sortition_panels"

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    algorithm: Mapped[str] = mapped_column(String(16))
    seed: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    pool: Mapped[int] = mapped_column(Integer)
    min_probability: Mapped[float] = mapped_column(Float)
    # {"panel": [...], "probabilities": {id: p}, "quotas": [...], "groups": [...], ...}
    result: Mapped[dict] = mapped_column(JSON)
