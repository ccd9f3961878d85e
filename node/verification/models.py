"""Authorisations and the census they may be checked against.

An authorisation is never deleted: revoking or expiring it stops future actions, and what was
done while it held stays attributed (issue 5).  The census keeps no readable personal data, only
keyed hashes of each eligible resident's (document number, birth date, postal code)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, UTCDateTime, utcnow


class Authorisation(Base):
    __tablename__ = "authorisations"
    __table_args__ = (
        # One verified identity (a census line, a mailbox) verifies one account at a time: the
        # database decides when two accounts race for it.  Revoked rows free the identity.
        Index("uq_authorisations_identity", "handler", "unique_digest", unique=True,
              sqlite_where=text("unique_digest IS NOT NULL AND revoked_at IS NULL"),
              postgresql_where=text("unique_digest IS NOT NULL AND revoked_at IS NULL")),
        Index("ix_authorisations_user_handler", "user_id", "handler"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # A name from node.verification.handlers.HANDLERS ("census", "manual", "email_domain").
    handler: Mapped[str] = mapped_column(String(32))
    # Keyed hash of the identity that was verified (never the identity itself); None for
    # handlers without one (manual).
    unique_digest: Mapped[str | None] = mapped_column(String(64))
    # What permissions may test: e.g. {"postal_code": "08001", "birth_date": "1990-04-01"} for
    # the census, {"domain": "collective.example"} for the email domain.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")  # the admin's reason, for manual grants
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Pending until confirmed (the email-domain handler waits for the link to be followed).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Keyed hash of the identity awaiting confirmation (the mailbox of an email-domain request):
    # it becomes unique_digest only when confirmed, so an unconfirmed request holds nothing.
    pending_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    def active(self, now: datetime) -> bool:
        return (self.confirmed_at is not None and self.revoked_at is None
                and (self.expires_at is None or self.expires_at > now))


class CensusEntry(Base):
    """One eligible resident, as HMAC-SHA256(node census key, normalised identity) — see
    node.verification.census.  An upload replaces the whole table in one transaction."""

    __tablename__ = "census_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerificationAttempt(Base):
    """A failed census check or a confirmation mail sent, counted per account and handler over
    the last day (node.verification.throttle); in the database so that processes share counts."""

    __tablename__ = "verification_attempts"
    __table_args__ = (Index("ix_verification_attempts_user", "user_id", "handler", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    handler: Mapped[str] = mapped_column(String(32))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
