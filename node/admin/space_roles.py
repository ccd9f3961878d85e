"""Admin of a space's roles (evaluators now): grant one to a member by username, remove it.
The list and the form are part of the space's admin page (admin/space.html)."""
from __future__ import annotations

from aiohttp import web

from node.admin.forms import int_param, redirect, translate_errors
from node.admin.spaces import load_space, render_overview
from node.appkeys import DB
from node.spaces.service import SpaceError, grant_space_role, revoke_space_role
from node.web.context import require_admin


async def role_add(request: web.Request) -> web.Response:
    require_admin(request)
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            space = await load_space(request, db)
            await grant_space_role(db, space, str(form.get("username", "")), str(form.get("role", "")))
    except SpaceError as exc:
        return await render_overview(request, translate_errors(request, exc.errors),
                                     {"username": str(form.get("username", ""))[:100]})
    raise redirect(request, "admin_space", "role_granted", space_id=space.id)


async def role_remove(request: web.Request) -> web.Response:
    require_admin(request)
    role_id = int_param(request, "role_id")
    try:
        async with request.app[DB].begin() as db:
            space = await load_space(request, db)
            await revoke_space_role(db, space, role_id)
    except SpaceError as exc:
        return await render_overview(request, translate_errors(request, exc.errors), status=409)
    raise redirect(request, "admin_space", "role_removed", space_id=space.id)
