"""Granting, renewing and revoking authorisations, and what each one's status is.

Authorisations are never deleted: a revoked one keeps who revoked it and why, an expired one
stays as it was, so that what an account did while it held can still be explained."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from node.accounts.models import User
from node.config import Settings
from node.db.base import utcnow
from node.i18n import N_
from node.moderation.log import log_action
from node.verification.models import Authorisation

# revoke_reason of an authorisation replaced by a newer one of the same identity and account.
RENEWED = "renewed"
# How long an email confirmation link stays valid.
CONFIRMATION_TTL = timedelta(hours=24)

STATUS_LABELS = {"active": N_("Active"), "pending": N_("Waiting for confirmation"), "expired": N_("Expired"),
                 "revoked": N_("Revoked"), "renewed": N_("Replaced by a newer verification")}


class VerificationError(Exception):
    """Refused: `message` is a gettext msgid for the person, `status` the HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


ALREADY_VERIFIED = N_("This identity already verified another account on this node. If it is yours, "
                      "contact the node's administrators.")


def status(auth: Authorisation, now: datetime | None = None) -> str:
    now = now or utcnow()
    if auth.revoked_at is not None:
        return "renewed" if auth.revoke_reason == RENEWED else "revoked"
    if auth.confirmed_at is None:
        return "pending" if auth.created_at + CONFIRMATION_TTL > now else "expired"
    if auth.expires_at is not None and auth.expires_at <= now:
        return "expired"
    return "active"


def default_expiry(settings: Settings, handler: str, now: datetime) -> datetime | None:
    days = getattr(settings, f"{handler}_validity_days", 0)
    return now + timedelta(days=days) if days > 0 else None


async def free_identity(db, user_id: int, handler: str, digest: str, now: datetime) -> None:
    """Make room for a new authorisation of this identity: the account's own earlier one (expired
    or about to be renewed) is marked renewed; another account's refuses with 409. The unique
    index still decides when two accounts race past this check at once."""
    holder = await db.scalar(select(Authorisation).where(
        Authorisation.handler == handler, Authorisation.unique_digest == digest,
        Authorisation.revoked_at.is_(None)))
    if holder is None:
        return
    if holder.user_id != user_id:
        raise VerificationError(409, ALREADY_VERIFIED)
    holder.revoked_at, holder.revoke_reason = now, RENEWED
    await db.flush()


async def grant(db, *, user_id: int, handler: str, details: dict, settings: Settings,
                unique_digest: str | None = None, expires_at: datetime | None = None,
                granted_by: User | None = None, reason: str = "") -> Authorisation:
    """A confirmed authorisation, flushed (IntegrityError when another account won the identity)."""
    now = utcnow()
    if unique_digest is not None:
        await free_identity(db, user_id, handler, unique_digest, now)
    auth = Authorisation(user_id=user_id, handler=handler, details=details, unique_digest=unique_digest,
                         reason=reason, granted_by_id=granted_by.id if granted_by else None, confirmed_at=now,
                         created_at=now, expires_at=expires_at or default_expiry(settings, handler, now))
    db.add(auth)
    await db.flush()
    return auth


async def revoke(db, auth: Authorisation, admin: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise VerificationError(422, N_("Say why the authorisation is revoked."))
    if auth.revoked_at is not None:
        raise VerificationError(409, N_("This authorisation was already revoked."))
    auth.revoked_at, auth.revoked_by_id, auth.revoke_reason = utcnow(), admin.id, reason[:2000]
    await log_action(db, admin, "verification.revoke", subject_type="authorisation", subject_id=auth.id, reason=reason,
               data={"handler": auth.handler, "user_id": auth.user_id})


async def of_user(db, user_id: int) -> list[Authorisation]:
    return list((await db.scalars(select(Authorisation).where(Authorisation.user_id == user_id)
                                  .order_by(Authorisation.created_at.desc(), Authorisation.id.desc()))).all())


async def page_of(db, handler: str | None, offset: int, limit: int) -> tuple[list, int]:
    """(authorisation, username) rows for the admin list, newest first, and how many in all."""
    where = [Authorisation.handler == handler] if handler else []
    total = await db.scalar(select(func.count()).select_from(Authorisation).where(*where))
    rows = (await db.execute(
        select(Authorisation, User.username).join(User, User.id == Authorisation.user_id).where(*where)
        .order_by(Authorisation.id.desc()).offset(offset).limit(limit))).all()
    return list(rows), total
