"""What public queries use to leave hidden items out. Imports nothing but the models, so that
every component can use it without import cycles."""
from __future__ import annotations

from sqlalchemy import exists, select

from node.moderation.models import Moderation, UserBlock


def not_hidden(subject_type: str, id_column):
    """A WHERE clause: the row of `id_column` is not hidden (uses uq_moderations_subject)."""
    return ~exists().where(Moderation.subject_type == subject_type, Moderation.subject_id == id_column,
                           Moderation.hidden_at.is_not(None))


async def is_hidden(db, subject_type: str, subject_id: int) -> bool:
    return await db.scalar(select(Moderation.id).where(
        Moderation.subject_type == subject_type, Moderation.subject_id == subject_id,
        Moderation.hidden_at.is_not(None))) is not None


async def is_blocked(db, user_id: int) -> bool:
    return await db.scalar(select(UserBlock.id).where(UserBlock.user_id == user_id)) is not None
