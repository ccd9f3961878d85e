"""The administrators' action log: one append-only row per moderation or administration act,
written in the transaction of the act itself so that the log never disagrees with the data."""
from __future__ import annotations

from node.db.base import utcnow
from node.moderation.models import AdminAction


async def log_action(db, actor, action: str, *, subject_type: str = "", subject_id: int | None = None,
                     reason: str = "", data: dict | None = None) -> AdminAction:
    """`actor` is a User or a user id (None for the node itself, e.g. auto-hide)."""
    row = AdminAction(actor_id=getattr(actor, "id", actor), action=action, subject_type=subject_type,
                      subject_id=subject_id, reason=reason or "", data=data or {}, created_at=utcnow())
    db.add(row)
    return row
