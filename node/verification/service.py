"""What the rest of the node asks of verification: which authorisations an account holds now."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from node.db.base import utcnow
from node.i18n import N_
from node.verification.models import Authorisation

# The handlers an authorisation can come from, with the name residents and admins see
# (node.verification.handlers implements each).
HANDLER_LABELS = {
    "census": N_("Residence (municipal census)"),
    "manual": N_("Verified in person"),
    "email_domain": N_("Email address of an organisation"),
}


async def active_authorisations(db, user_id: int, now: datetime | None = None) -> dict[str, Authorisation]:
    """The account's authorisations that hold at `now`, by handler name (the newest when several)."""
    now = now or utcnow()
    rows = (await db.scalars(
        select(Authorisation).where(Authorisation.user_id == user_id, Authorisation.revoked_at.is_(None),
                                    Authorisation.confirmed_at.is_not(None))
        .order_by(Authorisation.created_at, Authorisation.id))).all()
    return {row.handler: row for row in rows if row.active(now)}
