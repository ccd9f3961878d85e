"""Public group pages (the list is paged), creating and editing a group, and the members'
buttons (plain POST forms that redirect back to the group's page: no JavaScript needed)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.accounts.models import User
from node.admin.forms import translate_errors
from node.appkeys import DB, GETTEXT, USER
from node.groups import service
from node.groups.models import GroupMembership, UserGroup
from node.groups.service import ABOUT_LIMIT, NAME_LIMIT, GroupError
from node.i18n import N_
from node.web.context import require_user
from node.web.errors import user_error
from node.web.render import render

DONE = {
    "created": N_("Your group is created. A node administrator must verify it before anyone can "
                  "publish on its behalf."),
    "join": N_("Your request to join is sent to the group's administrators."),
    "accept": N_("You are now a member of the group."),
    "leave": N_("You are no longer a member of this group."),
    "invite": N_("The invitation is sent."),
    "approve": N_("The request is accepted."),
    "refuse": N_("The request is refused."),
    "promote": N_("The member is now an administrator of the group."),
    "demote": N_("The member is no longer an administrator of the group."),
    "remove": N_("The member is removed from the group."),
    "edited": N_("The group's details are saved."),
    "renamed": N_("The group's details are saved. Because its name changed, a node administrator must "
                  "verify the group again before anyone can publish on its behalf."),
}
PER_PAGE = 50


def page_number(request: web.Request) -> int:
    """?page=N, kept within bounds (a mistyped number shows the first page, not an error)."""
    raw = request.query.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() and len(raw) < 7 else 1


def done_message(request: web.Request) -> str | None:
    code = request.query.get("done", "")
    return request[GETTEXT](DONE[code]) if code in DONE else None


def group_url(request: web.Request, nickname: str, done: str | None = None):
    url = request.app.router["group"].url_for(nickname=nickname)
    return url.with_query(done=done) if done else url


async def _group(db, request: web.Request, *, lock: bool = False) -> UserGroup:
    query = select(UserGroup).where(UserGroup.nickname == request.match_info["nickname"])
    group = await db.scalar(query.with_for_update() if lock else query)
    if group is None:
        raise user_error(404, "No group has this name.")
    return group


def _refused(request: web.Request, exc: GroupError) -> web.HTTPException:
    message = exc.message or next(iter(exc.errors.values()))
    return user_error(exc.status, request[GETTEXT](message))


async def group_list(request: web.Request) -> web.Response:
    page = page_number(request)
    async with request.app[DB]() as db:
        total = await db.scalar(select(func.count()).select_from(UserGroup))
        groups = (await db.scalars(select(UserGroup).order_by(UserGroup.name, UserGroup.id)
                                   .offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    return render(request, "groups/list.html", {"groups": groups, "total": total, "page": page,
                                                "pages": max(1, -(-total // PER_PAGE))})


async def new_group(request: web.Request) -> web.Response:
    user = require_user(request)
    context = {"values": {}, "errors": {}, "name_limit": NAME_LIMIT, "about_limit": ABOUT_LIMIT}
    if request.method == "GET":
        return render(request, "groups/new.html", context)
    form = await request.post()
    values = {key: str(form.get(key, "")) for key in ("name", "nickname", "about")}
    try:
        async with request.app[DB].begin() as db:
            group = await service.create_group(db, user, **values)
    except GroupError as exc:
        return render(request, "groups/new.html", {**context, "values": values,
                                                   "errors": translate_errors(request, exc.errors)}, status=422)
    raise web.HTTPSeeOther(group_url(request, group.nickname, "created"))


async def edit_group(request: web.Request) -> web.Response:
    user = require_user(request)
    context = {"errors": {}, "name_limit": NAME_LIMIT, "about_limit": ABOUT_LIMIT}
    if request.method == "GET":
        async with request.app[DB]() as db:
            group = await _group(db, request)
            if not await service.is_group_admin(db, group, user):
                raise user_error(403, "Only the group's administrators can edit it.")
        return render(request, "groups/edit.html", {**context, "group": group,
                                                    "values": {"name": group.name, "about": group.about}})
    form = await request.post()
    values = {key: str(form.get(key, "")) for key in ("name", "about")}
    try:
        async with request.app[DB].begin() as db:
            # Locked: a node administrator verifying the group meanwhile must see the new name.
            group = await _group(db, request, lock=True)
            withdrawn = await service.update_group(db, group, user, **values)
    except GroupError as exc:
        if exc.status != 422:
            raise _refused(request, exc) from None
        async with request.app[DB]() as db:
            group = await _group(db, request)
        return render(request, "groups/edit.html", {**context, "group": group, "values": values,
                                                    "errors": translate_errors(request, exc.errors)}, status=422)
    raise web.HTTPSeeOther(group_url(request, group.nickname, "renamed" if withdrawn else "edited"))


async def group_page(request: web.Request) -> web.Response:
    viewer = request.get(USER)
    async with request.app[DB]() as db:
        group = await _group(db, request)
        rows = (await db.execute(select(GroupMembership, User).join(User, User.id == GroupMembership.user_id)
                                 .where(GroupMembership.group_id == group.id)
                                 .order_by(GroupMembership.role, User.nickname, User.id))).all()
    mine = next((m for m, u in rows if viewer is not None and u.id == viewer.id), None)
    manager = mine is not None and mine.status == "accepted" and mine.role == "admin"
    return render(request, "groups/show.html", {
        "group": group, "mine": mine, "manager": manager, "done": done_message(request),
        "members": [(m, u) for m, u in rows if m.status == "accepted"],
        # Who asked and who was invited is the group's business, not the public's.
        "requests": [(m, u) for m, u in rows if m.status == "requested"] if manager else [],
        "invited": [(m, u) for m, u in rows if m.status == "invited"] if manager else []})


async def own_action(request: web.Request) -> web.Response:
    user = require_user(request)
    action = request.match_info["action"]
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            group = await _group(db, request)
            if action == "join":
                await service.request_to_join(db, group, user)
            elif action == "accept":
                await service.accept_invitation(db, group, user)
            elif action == "leave":
                await service.leave(db, group, user)
            else:
                await service.invite(db, group, user, form.get("username"))
    except GroupError as exc:
        raise _refused(request, exc) from None
    raise web.HTTPSeeOther(group_url(request, request.match_info["nickname"], action))


async def member_action(request: web.Request) -> web.Response:
    user = require_user(request)
    action = request.match_info["action"]
    try:
        async with request.app[DB].begin() as db:
            group = await _group(db, request)
            await service.manage_member(db, group, user, int(request.match_info["user_id"]), action)
    except (GroupError, ValueError) as exc:
        if isinstance(exc, ValueError):
            raise user_error(404, "This person is not a member of the group.") from None
        raise _refused(request, exc) from None
    raise web.HTTPSeeOther(group_url(request, request.match_info["nickname"], action))
