"""Local follows: who follows what, and the Follow / Stop following button's state."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.appkeys import DB, USER
from node.notifications.models import SUBJECT_TYPES, Follow


async def follow(db, user_id: int, subject_type: str, subject_id: int) -> None:
    """Idempotent: following twice (a double click, an author commenting) keeps one row."""
    assert subject_type in SUBJECT_TYPES
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    await db.execute(insert(Follow).values(user_id=user_id, subject_type=subject_type, subject_id=subject_id)
                     .on_conflict_do_nothing(index_elements=["user_id", "subject_type", "subject_id"]))


async def unfollow(db, user_id: int, subject_type: str, subject_id: int) -> None:
    await db.execute(delete(Follow).where(Follow.user_id == user_id, Follow.subject_type == subject_type,
                                          Follow.subject_id == subject_id))


async def is_following(db, user_id: int, subject_type: str, subject_id: int) -> bool:
    return await db.scalar(select(Follow.id).where(
        Follow.user_id == user_id, Follow.subject_type == subject_type,
        Follow.subject_id == subject_id)) is not None


async def followers(db, subject_type: str, subject_id: int) -> set[int]:
    return set(await db.scalars(select(Follow.user_id).where(
        Follow.subject_type == subject_type, Follow.subject_id == subject_id)))


async def follow_state(request, subject_type: str, subject_id: int) -> dict | None:
    """What notifications/follow_button.html needs; None (and no query) for anonymous visitors,
    whose pages the page cache serves to everyone alike."""
    user = request.get(USER)
    if user is None:
        return None
    if subject_type == "user" and subject_id == user.id:
        return None  # one's own profile
    async with request.app[DB]() as db:
        following = await is_following(db, user.id, subject_type, subject_id)
    return {"type": subject_type, "id": subject_id, "following": following}
