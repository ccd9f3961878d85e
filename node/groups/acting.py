"""Publishing on behalf of a group: which groups a person may choose, and the check made before
a proposal or a comment is written. Supports stay personal and never go through here."""
from __future__ import annotations

from sqlalchemy import select

from node.groups.models import GroupMembership, UserGroup
from node.i18n import N_

FIELD = "user_group"  # the form field of the "publish as" select
REFUSED = N_("You can only publish on behalf of a verified group you are a member of.")


class ActingRefused(Exception):
    status = 403
    message = REFUSED


def _publishable(user_id: int):
    return (select(UserGroup).join(GroupMembership, GroupMembership.group_id == UserGroup.id)
            .where(GroupMembership.user_id == user_id, GroupMembership.status == "accepted",
                   UserGroup.verified_at.is_not(None)))


async def publishable_groups(db, user) -> list[UserGroup]:
    """The verified groups `user` is an accepted member of, by name (none for visitors)."""
    if user is None:
        return []
    return list((await db.scalars(_publishable(user.id).order_by(UserGroup.name, UserGroup.id))).all())


async def acting_group_id(db, user, raw) -> int | None:
    """The group id to store for a form's "publish as" value ("" or None: the person themself).
    Raises ActingRefused for anything else than a verified group the person belongs to."""
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 2**31 - 1:
        raise ActingRefused()
    group = await db.scalar(_publishable(user.id).where(UserGroup.id == int(text)))
    if group is None:
        raise ActingRefused()
    return group.id


def group_json(nickname: str | None, name: str | None) -> dict | None:
    """The public API's `user_group` field."""
    return {"nickname": nickname, "name": name} if nickname else None


OPENAPI_SCHEMA = {
    "oneOf": [{"type": "null"}, {"type": "object", "required": ["nickname", "name"], "properties": {
        "nickname": {"type": "string"}, "name": {"type": "string"}}}],
    "description": "The verified group the author published on behalf of (null: themself). The "
                   "author stays the person.",
}
