"""Who is told what about a group (read by node.notifications.dispatch, in the notifier's
transaction, a few seconds after the event):

- group.invited: the invited person ("group_invite"), while the invitation still stands;
- group.join_requested: the group's administrators ("group_request"), while the request stands;
- group.request_accepted / group.request_refused: the person who asked;
- group.verified / group.unverified / group.renamed (a verified group renamed, so unverified
  until a node administrator checks it again): the accepted members.

The notification links to the group's page, where the buttons to answer are.
"""
from __future__ import annotations

from sqlalchemy import select

from node.groups.models import GroupMembership, UserGroup
from node.groups.service import membership
from node.notifications.dispatch import Plan

_MEMBERS = {"group.verified": "group_verified", "group.unverified": "group_unverified",
            "group.renamed": "group_renamed"}


async def _members(db, group_id: int, *, admins: bool = False) -> list[int]:
    query = select(GroupMembership.user_id).where(GroupMembership.group_id == group_id,
                                                  GroupMembership.status == "accepted")
    if admins:
        query = query.where(GroupMembership.role == "admin")
    return list(await db.scalars(query))


async def _still(db, group_id: int, user_id, status: str) -> bool:
    row = await membership(db, group_id, user_id) if isinstance(user_id, int) else None
    return row is not None and row.status == status


async def plan_group_event(db, event) -> Plan | None:
    group = await db.get(UserGroup, event.subject_id)
    if group is None:
        return None
    user_id = (event.data or {}).get("user_id")
    page, title = f"/groups/{group.nickname}", {"und": group.name}
    if event.kind == "group.invited":
        # Cancelled or answered before the notifier came by: nothing left to answer.
        if not await _still(db, group.id, user_id, "invited"):
            return None
        plan = Plan(f"{page}#membership-title", title)
        plan.tell([user_id], "group_invite")
    elif event.kind == "group.join_requested":
        if not await _still(db, group.id, user_id, "requested"):
            return None
        plan = Plan(f"{page}#requests-title", title)
        plan.tell(await _members(db, group.id, admins=True), "group_request")
    elif event.kind in ("group.request_accepted", "group.request_refused"):
        plan = Plan(page, title)
        plan.tell([user_id], "group_accepted" if event.kind == "group.request_accepted" else "group_refused")
    elif event.kind in _MEMBERS:
        plan = Plan(page, title)
        plan.tell(await _members(db, group.id), _MEMBERS[event.kind])
    else:
        return None
    return plan
