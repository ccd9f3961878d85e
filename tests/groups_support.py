"""Helpers shared by the user-group tests (this module holds no tests itself)."""
from __future__ import annotations

from sqlalchemy import select

from node.appkeys import DB
from node.groups import service
from node.groups.models import GroupMembership, UserGroup


async def make_group(app, creator, nickname: str = "neighbours", name: str = "Market Square Neighbours",
                     *, verified_by=None, members=()) -> UserGroup:
    """A group created by `creator`, with `members` (accepted), verified when `verified_by` is given."""
    async with app[DB].begin() as db:
        group = await service.create_group(db, creator, name=name, nickname=nickname, about="We meet on Tuesdays.")
        for member in members:
            await service.invite(db, group, creator, member.username)
            await service.accept_invitation(db, group, member)
        if verified_by is not None:
            await service.set_verified(db, group, verified_by, True, "Statutes checked at the town hall.")
    return group


async def memberships(app, group) -> dict[str, tuple[str, str]]:
    """{user_id: (role, status)} of a group."""
    async with app[DB]() as db:
        rows = await db.scalars(select(GroupMembership).where(GroupMembership.group_id == group.id))
        return {row.user_id: (row.role, row.status) for row in rows}


async def group_row(app, group_id: int) -> UserGroup | None:
    async with app[DB]() as db:
        return await db.get(UserGroup, group_id)
