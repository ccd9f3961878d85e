"""The admin dashboard (the routes of every admin page are in node.admin.routes). Every admin
handler starts with require_admin (anonymous visitors are sent to log in, others get 403)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.accounts.models import User
from node.admin.forms import done_message
from node.appkeys import DB
from node.spaces.models import Component, Phase, Space
from node.web.context import require_admin
from node.web.render import render


async def dashboard(request: web.Request) -> web.Response:
    require_admin(request)

    async def count(model, *where):
        return await db.scalar(select(func.count()).select_from(model).where(*where))

    async with request.app[DB]() as db:
        counts = {
            "processes": await count(Space, Space.kind == "process"),
            "assemblies": await count(Space, Space.kind == "assembly"),
            "unpublished": await count(Space, Space.published.is_(False)),
            "phases": await count(Phase),
            "components": await count(Component),
            "users": await count(User),
            "admins": await count(User, User.role == "admin"),
            "moderators": await count(User, User.role == "moderator"),
        }
    return render(request, "admin/home.html", {"counts": counts, "done": done_message(request)})
