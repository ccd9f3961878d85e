"""Node administrators' page of user groups: the list (all, verified or awaiting verification)
and the verify / unverify buttons, each with a reason kept in the action log."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.accounts.models import User
from node.appkeys import DB, GETTEXT
from node.groups.models import GroupMembership, UserGroup
from node.groups.pages import page_number
from node.groups.service import GroupError, set_verified
from node.i18n import N_
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

PER_PAGE = 50
# "unverified" holds the groups awaiting a decision, renamed verified groups included.
FILTERS = {"": [], "unverified": [UserGroup.verified_at.is_(None)], "verified": [UserGroup.verified_at.is_not(None)]}
DONE = {"verified": N_("The group is verified."), "unverified": N_("The group is no longer verified.")}


async def admin_list(request: web.Request) -> web.Response:
    require_admin(request)
    shown = request.query.get("filter", "")
    shown = shown if shown in FILTERS else ""
    page = page_number(request)
    members = (select(func.count()).select_from(GroupMembership)
               .where(GroupMembership.group_id == UserGroup.id, GroupMembership.status == "accepted")
               .scalar_subquery())
    where = FILTERS[shown]
    async with request.app[DB]() as db:
        total = await db.scalar(select(func.count()).select_from(UserGroup).where(*where))
        rows = (await db.execute(select(UserGroup, User.username, members.label("members"))
                                 .outerjoin(User, User.id == UserGroup.created_by_id).where(*where)
                                 .order_by(UserGroup.created_at.desc(), UserGroup.id.desc())
                                 .offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    code = request.query.get("done", "")
    return render(request, "groups/admin.html", {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
        "filter": shown, "done": request[GETTEXT](DONE[code]) if code in DONE else None})


async def verify_view(request: web.Request) -> web.Response:
    admin = require_admin(request)
    verified = request.match_info["action"] == "verify"
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            group = await db.get(UserGroup, int(request.match_info["group_id"]), with_for_update=True)
            if group is None:
                raise user_error(404, "No group has this name.")
            await set_verified(db, group, admin, verified, form.get("reason"))
    except GroupError as exc:
        raise user_error(exc.status, request[GETTEXT](exc.message)) from None
    back = request.app.router["admin_groups"].url_for().with_query(done="verified" if verified else "unverified")
    raise web.HTTPSeeOther(back)
