"""Rules of user groups: creating them, memberships, and admin verification. Every function
works inside the caller's transaction and raises GroupError before writing anything."""
from __future__ import annotations

from sqlalchemy import func, select

from node.accounts.models import User
from node.accounts.service import RESERVED_USERNAMES, USERNAME_RE
from node.db.base import utcnow
from node.groups.models import GroupMembership, UserGroup
from node.i18n import N_
from node.moderation.log import log_action

NAME_LIMIT = 100
ABOUT_LIMIT = 2000
REASON_LIMIT = 2000


class GroupError(Exception):
    """A refused action: HTTP status, and a gettext msgid (or field -> msgid for forms)."""

    def __init__(self, status: int, message: str = "", errors: dict | None = None) -> None:
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in (errors or {}).items()))
        self.status = status
        self.message = message
        self.errors = errors or {}


def clean(value) -> str:
    return str(value or "").replace("\r\n", "\n").strip()


async def validate_new_group(db, name: str, nickname: str, about: str) -> dict:
    errors = {}
    if not name:
        errors["name"] = N_("Enter the group's name.")
    elif len(name) > NAME_LIMIT:
        errors["name"] = N_("Use at most 100 characters for the name.")
    if not USERNAME_RE.match(nickname):
        errors["nickname"] = N_("Use 3 to 30 lower-case letters, digits or underscores.")
    elif nickname in RESERVED_USERNAMES or nickname == "new":
        errors["nickname"] = N_("This name is reserved; choose another one.")
    elif (await db.scalar(select(UserGroup.id).where(UserGroup.nickname == nickname))
          or await db.scalar(select(User.id).where(User.username == nickname))):
        # Groups and people share one namespace of handles.
        errors["nickname"] = N_("This name is already taken; choose another one.")
    if len(about) > ABOUT_LIMIT:
        errors["about"] = N_("Use at most 2000 characters for the description.")
    return errors


async def create_group(db, creator, *, name, nickname, about="") -> UserGroup:
    name, nickname, about = clean(name), clean(nickname).lower().lstrip("@"), clean(about)
    errors = await validate_new_group(db, name, nickname, about)
    if errors:
        raise GroupError(422, errors=errors)
    group = UserGroup(name=name, nickname=nickname, about=about, created_by_id=creator.id, created_at=utcnow())
    db.add(group)
    await db.flush()
    db.add(GroupMembership(group_id=group.id, user_id=creator.id, role="admin", status="accepted",
                           created_at=utcnow()))
    await db.flush()
    return group


async def membership(db, group_id: int, user_id: int, *, lock: bool = False) -> GroupMembership | None:
    query = select(GroupMembership).where(GroupMembership.group_id == group_id, GroupMembership.user_id == user_id)
    return await db.scalar(query.with_for_update() if lock else query)


async def _require_group_admin(db, group: UserGroup, user) -> None:
    mine = await membership(db, group.id, user.id)
    if mine is None or mine.status != "accepted" or mine.role != "admin":
        raise GroupError(403, N_("Only the group's administrators can manage its members."))


async def _admin_count(db, group_id: int) -> int:
    return await db.scalar(select(func.count()).select_from(GroupMembership).where(
        GroupMembership.group_id == group_id, GroupMembership.role == "admin",
        GroupMembership.status == "accepted"))


async def _check_not_last_admin(db, row: GroupMembership) -> None:
    if row.role == "admin" and row.status == "accepted" and await _admin_count(db, row.group_id) <= 1:
        raise GroupError(409, N_("The group's last administrator cannot leave or step down: "
                                 "make another member an administrator first."))


async def invite(db, group: UserGroup, admin, username) -> GroupMembership:
    await _require_group_admin(db, group, admin)
    username = clean(username).lstrip("@").lower()
    invited = await db.scalar(select(User).where(User.username == username)) if username else None
    if invited is None:
        raise GroupError(422, errors={"username": N_("No member of this node has this username.")})
    row = await membership(db, group.id, invited.id, lock=True)
    if row is None:
        row = GroupMembership(group_id=group.id, user_id=invited.id, role="member", status="invited",
                             created_at=utcnow())
        db.add(row)
    elif row.status == "requested":
        row.status = "accepted"  # inviting someone who asked to join lets them in
    elif row.status == "invited":
        raise GroupError(409, N_("This person is already invited."))
    else:
        raise GroupError(409, N_("This person is already a member of the group."))
    await db.flush()
    return row


async def request_to_join(db, group: UserGroup, user) -> GroupMembership:
    row = await membership(db, group.id, user.id, lock=True)
    if row is None:
        row = GroupMembership(group_id=group.id, user_id=user.id, role="member", status="requested",
                             created_at=utcnow())
        db.add(row)
    elif row.status == "invited":
        row.status = "accepted"  # asking to join a group that invited you is accepting
    elif row.status == "accepted":
        raise GroupError(409, N_("You are already a member of this group."))
    await db.flush()
    return row


async def accept_invitation(db, group: UserGroup, user) -> GroupMembership:
    row = await membership(db, group.id, user.id, lock=True)
    if row is None or row.status == "requested":
        raise GroupError(409, N_("This group has not invited you."))
    row.status = "accepted"
    await db.flush()
    return row


async def leave(db, group: UserGroup, user) -> None:
    """Leave, decline an invitation or withdraw a request."""
    row = await membership(db, group.id, user.id, lock=True)
    if row is None:
        raise GroupError(409, N_("You are not a member of this group."))
    await _check_not_last_admin(db, row)
    await db.delete(row)
    await db.flush()


async def manage_member(db, group: UserGroup, admin, user_id: int, action: str) -> None:
    """approve / refuse a request, promote / demote / remove a member (or cancel an invitation)."""
    await _require_group_admin(db, group, admin)
    row = await membership(db, group.id, user_id, lock=True)
    if row is None:
        raise GroupError(404, N_("This person is not a member of the group."))
    if action in ("approve", "refuse"):
        if row.status != "requested":
            raise GroupError(409, N_("This person has not asked to join."))
        if action == "approve":
            row.status = "accepted"
        else:
            await db.delete(row)
    elif action in ("promote", "demote"):
        if row.status != "accepted":
            raise GroupError(409, N_("Only members who accepted can be administrators."))
        if action == "demote":
            await _check_not_last_admin(db, row)
        row.role = "admin" if action == "promote" else "member"
    elif action == "remove":
        # Past proposals and comments keep their group: removing someone rewrites nothing.
        await _check_not_last_admin(db, row)
        await db.delete(row)
    else:
        raise GroupError(404, N_("Unknown action."))
    await db.flush()


async def set_verified(db, group: UserGroup, admin, verified: bool, reason) -> None:
    """A node administrator's decision, kept in the action log. Unverifying stops future
    publications on the group's behalf; past ones keep their group."""
    reason = clean(reason)
    if not reason:
        raise GroupError(422, N_("Give a reason (it is kept in the action log)."))
    if len(reason) > REASON_LIMIT:
        raise GroupError(422, N_("Use at most 2000 characters for the reason."))
    if group.verified == verified:
        raise GroupError(409, N_("This group is already verified.") if verified
                         else N_("This group is not verified."))
    group.verified_at = utcnow() if verified else None
    group.verified_by_id = admin.id if verified else None
    await log_action(db, admin, "group.verified" if verified else "group.unverified", subject_type="user_group",
                     subject_id=group.id, reason=reason, data={"nickname": group.nickname})
    await db.flush()
