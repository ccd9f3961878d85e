"""Role checks for views: `require_role(request, "moderator")` admits moderators and admins."""
from __future__ import annotations

from aiohttp import web

from node.accounts.models import ROLES, User
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
