"""Comments on any commentable resource, and residents' up/down votes on them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow

ALIGNMENTS = ("in_favor", "against", "neutral")


class Comment(Base):
    __tablename__ = "comments"
    # A thread is always read whole, by its commentable: one index serves every page.
    __table_args__ = (Index("ix_comments_commentable", "commentable_type", "commentable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Polymorphic on purpose (proposals, debates, later budgets and meetings): the commentable
    # types are registered in node.components.comments.registry, not in the schema.
    commentable_type: Mapped[str] = mapped_column(String(32))
    commentable_id: Mapped[int] = mapped_column(Integer)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    # Deleting a component deletes its commentables through their own foreign keys; this one
    # takes their comments along, which a polymorphic reference could not.
    component_id: Mapped[int | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Or a partner node's resident, who commented from their own node (node.cohosting.comments_host):
    # then author_id is None and the comment is theirs, shown with their name and home node.
    remote_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("remote_participants.id", ondelete="SET NULL"), index=True)
    # Published on behalf of this verified group (node.groups); the author stays the person.
    user_group_id: Mapped[int | None] = mapped_column(ForeignKey("user_groups.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    # None where the commentable type does not take sides (debates); see ALIGNMENTS.
    alignment: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Soft deletion: the row stays so that replies keep their place; the body is never shown.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Denormalised from comment_votes in the voting transaction, so threads sort without a join.
    up_votes: Mapped[int] = mapped_column(Integer, default=0)
    down_votes: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def score(self) -> int:
        return self.up_votes - self.down_votes


class CommentVote(Base):
    __tablename__ = "comment_votes"
    # The constraint, not a check in Python, is what keeps double clicks to one vote.
    __table_args__ = (UniqueConstraint("comment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column(SmallInteger)  # +1 or -1
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
