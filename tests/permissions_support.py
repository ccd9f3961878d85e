"""Helpers of the permissions tests (this module holds no tests itself)."""
from __future__ import annotations

from datetime import date, timedelta

from node.appkeys import DB
from node.db.base import utcnow
from node.spaces.models import Component
from node.verification.models import Authorisation

ADULT = date(utcnow().year - 30, 1, 1).isoformat()
CHILD = date(utcnow().year - 10, 1, 1).isoformat()  # 9 or 10 years old, whatever today is
CENSUS_ONLY = {"handlers": ["census"]}


async def grant(app, user, handler: str = "census", *, postal_code: str | None = "08001", birth_date: str | None = ADULT,
                expires_in: timedelta | None = None, revoked: bool = False, domain: str | None = None) -> Authorisation:
    """An authorisation as node.verification leaves it once confirmed (rows made directly)."""
    details = {}
    if postal_code is not None:
        details["postal_code"] = postal_code
    if birth_date is not None:
        details["birth_date"] = birth_date
    if domain is not None:
        details["domain"] = domain
    now = utcnow()
    async with app[DB].begin() as db:
        row = Authorisation(user_id=user.id, handler=handler, details=details, confirmed_at=now - timedelta(days=30),
                            created_at=now - timedelta(days=30),
                            expires_at=now + expires_in if expires_in is not None else None,
                            revoked_at=now if revoked else None)
        db.add(row)
    return row


async def revoke(app, authorisation: Authorisation) -> None:
    async with app[DB].begin() as db:
        row = await db.get(Authorisation, authorisation.id)
        row.revoked_at = utcnow()


async def expire(app, authorisation: Authorisation) -> None:
    async with app[DB].begin() as db:
        row = await db.get(Authorisation, authorisation.id)
        row.expires_at = utcnow() - timedelta(minutes=1)


async def restrict(app, component, **permissions) -> None:
    """settings["permissions"] = {action: entry}, as the admin page stores it."""
    async with app[DB].begin() as db:
        row = await db.get(Component, component.id)
        row.settings = {**row.settings, "permissions": permissions}
