"""Rules of user groups: creating and editing them, memberships, and admin verification. Every
function works inside the caller's transaction and raises GroupError before writing anything.

What needs telling (an invitation, a request to join and its answer, a change of verification)
is recorded as an event (node.events) in the same transaction; the notifier turns it into
notifications and mails (node.groups.notify)."""
from __future__ import annotations

from sqlalchemy import func, select

from node.accounts.models import User
from node.accounts.service import RESERVED_USERNAMES, USERNAME_RE
from node.db.base import utcnow
from node.events import record_event
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


async def _event(db, kind: str, group: UserGroup, actor_id: int | None, user_id: int | None = None) -> None:
    await record_event(db, kind, subject_type="user_group", subject_id=group.id, actor_id=actor_id,
                       data={"user_id": user_id} if user_id is not None else {})


async def _name_errors(db, name: str, errors: dict, *, group_id: int | None = None) -> None:
    if not name:
        errors["name"] = N_("Enter the group's name.")
    elif len(name) > NAME_LIMIT:
        errors["name"] = N_("Use at most 100 characters for the name.")
    else:
        # Two groups called alike would let one pass for the other (case aside).
        query = select(UserGroup.id).where(func.lower(UserGroup.name) == name.lower())
        if group_id is not None:
            query = query.where(UserGroup.id != group_id)
        if await db.scalar(query.limit(1)) is not None:
            errors["name"] = N_("Another group already has this name; choose another one.")


def _about_errors(about: str, errors: dict) -> None:
    if len(about) > ABOUT_LIMIT:
        errors["about"] = N_("Use at most 2000 characters for the description.")


async def validate_new_group(db, name: str, nickname: str, about: str) -> dict:
    errors = {}
    await _name_errors(db, name, errors)
    if not USERNAME_RE.match(nickname):
        errors["nickname"] = N_("Use 3 to 30 lower-case letters, digits or underscores.")
    elif nickname in RESERVED_USERNAMES or nickname == "new":
        errors["nickname"] = N_("This name is reserved; choose another one.")
    elif (await db.scalar(select(UserGroup.id).where(UserGroup.nickname == nickname))
          or await db.scalar(select(User.id).where(User.username == nickname))):
        # Groups and people share one namespace of handles.
        errors["nickname"] = N_("This name is already taken; choose another one.")
    _about_errors(about, errors)
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


async def update_group(db, group: UserGroup, editor, *, name, about) -> bool:
    """A group administrator changes the name and the description (the nickname stays: it is
    the group's address, and the handle proposals, comments, the API and past notifications
    point to). Renaming a verified group withdraws the verification until a node administrator
    checks the new name: otherwise a verified group could take the name of another
    organisation. Returns True when that happened (also logged, and the members told)."""
    await _require_group_admin(db, group, editor, N_("Only the group's administrators can edit it."))
    name, about = clean(name), clean(about)
    errors = {}
    await _name_errors(db, name, errors, group_id=group.id)
    _about_errors(about, errors)
    if errors:
        raise GroupError(422, errors=errors)
    old_name, group.about = group.name, about
    renamed = name != old_name
    group.name = name
    withdrawn = renamed and group.verified
    if withdrawn:
        group.verified_at = group.verified_by_id = None
        await log_action(db, editor, "group.renamed", subject_type="user_group", subject_id=group.id,
                         reason=f"{old_name} → {name}",
                         data={"nickname": group.nickname, "old_name": old_name, "new_name": name,
                               "verification_withdrawn": True})
        await _event(db, "group.renamed", group, editor.id)
    await db.flush()
    return withdrawn


async def membership(db, group_id: int, user_id: int, *, lock: bool = False) -> GroupMembership | None:
    query = select(GroupMembership).where(GroupMembership.group_id == group_id, GroupMembership.user_id == user_id)
    return await db.scalar(query.with_for_update() if lock else query)


async def is_group_admin(db, group: UserGroup, user) -> bool:
    mine = await membership(db, group.id, user.id) if user is not None else None
    return mine is not None and mine.status == "accepted" and mine.role == "admin"


async def _require_group_admin(db, group: UserGroup, user,
                               message: str = N_("Only the group's administrators can manage its members.")) -> None:
    if not await is_group_admin(db, group, user):
        raise GroupError(403, message)


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
        await _event(db, "group.invited", group, admin.id, invited.id)
    elif row.status == "requested":
        row.status = "accepted"  # inviting someone who asked to join lets them in
        await _event(db, "group.request_accepted", group, admin.id, invited.id)
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
        await _event(db, "group.join_requested", group, user.id, user.id)
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
        await _event(db, f"group.request_{'accepted' if action == 'approve' else 'refused'}", group, admin.id,
                     user_id)
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
    await _event(db, "group.verified" if verified else "group.unverified", group, admin.id)
    await db.flush()
