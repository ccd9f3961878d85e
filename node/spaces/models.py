"""Spaces (participatory processes and assemblies), their phases and enabled components."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from node.db.base import Base, Translated, UTCDateTime, utcnow

SPACE_KINDS = ("process", "assembly")
FEDERATION_POLICIES = ("local", "partners", "open")
# Roles an administrator grants to a user in one space (Decidim's "valuators" are evaluators);
# later: moderator of a space, collaborator.
SPACE_ROLES = ("evaluator",)


class Space(Base):
    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="process")
    title: Mapped[dict] = mapped_column(Translated)
    subtitle: Mapped[dict] = mapped_column(Translated, default=dict)
    description: Mapped[dict] = mapped_column(Translated, default=dict)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    federation_policy: Mapped[str] = mapped_column(String(16), default="local")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phases: Mapped[list["Phase"]] = relationship(
        back_populates="space", order_by="Phase.position", cascade="all, delete-orphan"
    )
    components: Mapped[list["Component"]] = relationship(
        back_populates="space", order_by="Component.position", cascade="all, delete-orphan"
    )


class Phase(Base):
    __tablename__ = "phases"
    # The database itself refuses a second active phase in a space (partial unique index).
    __table_args__ = (
        Index("uq_phases_one_active", "space_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[dict] = mapped_column(Translated)
    description: Mapped[dict] = mapped_column(Translated, default=dict)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    # Exactly one active phase once a space has phases; node.spaces.service keeps it so.
    active: Mapped[bool] = mapped_column(Boolean, default=False)

    space: Mapped[Space] = relationship(back_populates="phases")


class Component(Base):
    """An instance of a registered component kind (see node.components.registry) in a space."""

    __tablename__ = "components"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[dict] = mapped_column(Translated)
    position: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)

    space: Mapped[Space] = relationship(back_populates="components")


class SpaceRole(Base):
    """A role held by a user in one space only, on top of their node-wide role."""

    __tablename__ = "space_roles"
    # Also the index of "who holds a role in this space" (its first column).
    __table_args__ = (UniqueConstraint("space_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
