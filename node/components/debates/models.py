"""Debates: open conversations in a space, closed by their organisers with a conclusion."""
from __future__ import annotations

import importlib
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, Translated, UTCDateTime, utcnow

# Debates are commented: the comment tables must exist wherever the debate tables do.
importlib.import_module("node.components.comments.models")


class Debate(Base):
    __tablename__ = "debates"
    __table_args__ = (Index("ix_debates_component_closed", "component_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    # None for official debates, opened by the space's organisers.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Translatable: organisers write every language; a resident's debate has their language only.
    title: Mapped[dict] = mapped_column(Translated)
    description: Mapped[dict] = mapped_column(Translated, default=dict)
    instructions: Mapped[dict] = mapped_column(Translated, default=dict)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conclusion: Mapped[dict] = mapped_column(Translated, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Comments not deleted, kept by the comments package through the count_changed hook.
    comments_count: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def official(self) -> bool:
        return self.author_id is None
