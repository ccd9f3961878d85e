"""What blocking means for logging in (used by node.accounts.views)."""
from __future__ import annotations

from node.appkeys import DB
from node.i18n import N_
from node.moderation.visibility import is_blocked

BLOCKED_LOGIN = N_("This account is blocked by the node's moderators; you cannot log in. "
                   "Write to the node's contact address if you think this is a mistake.")


async def blocked_login(request, user) -> bool:
    # Checked only after a right password, so that the answer tells nothing about the account
    # to someone who does not know its password.
    async with request.app[DB]() as db:
        return await is_blocked(db, user.id)
