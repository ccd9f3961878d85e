"""Role checks. Node-wide roles are ordered (user < moderator < admin): `require_role(request,
"moderator")` admits moderators and admins. Space roles (node.spaces.models.SpaceRole) are held
in one space only: an evaluator answers the proposals of the spaces they evaluate, nothing else."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.accounts.models import ROLES, User
from node.spaces.models import SpaceRole
from node.web.context import require_user
from node.web.errors import user_error


def has_role(user: User | None, role: str) -> bool:
    """Roles are ordered (user < moderator < admin): a higher role includes the lower ones."""
    if user is None or user.role not in ROLES:
        return False
    return ROLES.index(user.role) >= ROLES.index(role)


def require_role(request: web.Request, role: str) -> User:
    """The logged-in user if they hold `role` or higher; otherwise login redirect or 403."""
    user = require_user(request)
    if not has_role(user, role):
        if role == "admin":
            raise user_error(403, "Only the node's administrators can open this page.")
        raise user_error(403, "Only the node's moderators and administrators can open this page.")
    return user


async def has_space_role(db, user: User | None, space_id: int, role: str) -> bool:
    """Whether `user` holds `role` in this space (one indexed lookup; no query when anonymous)."""
    if user is None:
        return False
    return await db.scalar(select(SpaceRole.id).where(
        SpaceRole.space_id == space_id, SpaceRole.user_id == user.id, SpaceRole.role == role)) is not None


async def can_answer_proposals(db, user: User | None, space_id: int) -> bool:
    """Administrators answer proposals everywhere, evaluators in the spaces they evaluate."""
    if user is None:
        return False
    return user.is_admin or await has_space_role(db, user, space_id, "evaluator")
