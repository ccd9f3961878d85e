"""Login throttling from `login_attempts` rows, per account and per client address.

Only failures are stored. An account (or an address) with `login_max_failures` failures inside
the last `login_window_seconds` is locked until the oldest of those failures leaves the window.
The database, not process memory, holds the counts so that several `civicnode serve` processes
share them.
"""
from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, or_, select

from node.accounts.models import LoginAttempt
from node.config import Settings
from node.db.base import utcnow

MAX_KEY = 254


def account_key(identifier: str) -> str:
    return identifier.strip().lower()[:MAX_KEY]


async def seconds_locked(db, settings: Settings, username: str, address: str) -> int:
    """How long (seconds) this account or address must still wait; 0 when it may try now."""
    limit = settings.login_max_failures
    if limit <= 0:
        return 0
    window = timedelta(seconds=settings.login_window_seconds)
    now = utcnow()
    longest = 0
    for column, value in ((LoginAttempt.username, username), (LoginAttempt.address, address)):
        recent = (await db.scalars(
            select(LoginAttempt.attempted_at)
            .where(column == value, LoginAttempt.attempted_at > now - window)
            .order_by(LoginAttempt.attempted_at.desc()).limit(limit)
        )).all()
        if len(recent) >= limit:
            unlocked_at = recent[limit - 1] + window
            longest = max(longest, math.ceil((unlocked_at - now).total_seconds()))
    return longest


async def record_failure(db, settings: Settings, username: str, address: str) -> None:
    now = utcnow()
    # Rows older than the window no longer count; dropping them here keeps the table small
    # without a separate clean-up job.
    await db.execute(delete(LoginAttempt).where(
        or_(LoginAttempt.username == username, LoginAttempt.address == address),
        LoginAttempt.attempted_at <= now - timedelta(seconds=settings.login_window_seconds),
    ))
    db.add(LoginAttempt(username=username, address=address[:64], attempted_at=now))


async def clear_failures(db, username: str) -> None:
    await db.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
