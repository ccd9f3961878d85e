"""Limits on verification attempts: failed census checks and confirmation mails, per account and
handler, over a rolling day. Like the login throttle (node.accounts.throttle) the counts live in
the database so that several `civicnode serve` processes share them."""
from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, select

from node.config import Settings
from node.db.base import utcnow
from node.verification.models import VerificationAttempt

WINDOW = timedelta(days=1)


async def seconds_locked(db, settings: Settings, user_id: int, handler: str) -> int:
    """How long (seconds) this account must wait before trying this handler again; 0 if it may."""
    limit = settings.verification_max_attempts
    if limit <= 0:
        return 0
    now = utcnow()
    recent = (await db.scalars(
        select(VerificationAttempt.attempted_at)
        .where(VerificationAttempt.user_id == user_id, VerificationAttempt.handler == handler,
               VerificationAttempt.attempted_at > now - WINDOW)
        .order_by(VerificationAttempt.attempted_at.desc()).limit(limit))).all()
    if len(recent) < limit:
        return 0
    return max(1, math.ceil((recent[limit - 1] + WINDOW - now).total_seconds()))


async def record_attempt(db, user_id: int, handler: str) -> None:
    now = utcnow()
    # Old rows no longer count; dropping them here keeps the table small without a clean-up job.
    await db.execute(delete(VerificationAttempt).where(
        VerificationAttempt.user_id == user_id, VerificationAttempt.attempted_at <= now - WINDOW))
    db.add(VerificationAttempt(user_id=user_id, handler=handler, attempted_at=now))
