"""Node-wide records: editable settings and the actors' signing keys."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow


class NodeSetting(Base):
    """Settings admins edit on the web (node name, description...); the TOML file holds the rest."""

    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | str | int | bool | None] = mapped_column(JSON)


class ActorKey(Base):
    """Key pairs of the node's actors. Rotated keys are kept (revoked_at set) so that records
    signed before a rotation stay verifiable."""

    __tablename__ = "actor_keys"
    # One active key per actor, decided by the database when two first requests race.
    __table_args__ = (Index("uq_actor_keys_active", "owner_type", "owner_id", unique=True,
                            sqlite_where=text("revoked_at IS NULL"),
                            postgresql_where=text("revoked_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(16))  # "node", "space", "user"
    owner_id: Mapped[int] = mapped_column(default=0)
    rsa_private_pem: Mapped[str] = mapped_column(Text)
    rsa_public_pem: Mapped[str] = mapped_column(Text)
    ed25519_seed_hex: Mapped[str] = mapped_column(String(64))
    ed25519_public_multibase: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
