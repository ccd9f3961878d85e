"""The "Permissions" page of a component in the space's admin: per action, which verifications
are required, for which postal codes, from which age.  Only the node's administrators change
them (spaces have no administrator role of their own); every change is in the action log."""
from __future__ import annotations

from aiohttp import web

from node.admin.components import load_component
from node.admin.forms import done_message, redirect, translate_errors
from node.admin.spaces import load_space
from node.appkeys import DB
from node.moderation.log import log_action
from node.permissions.form import form_values, parse_permissions, posted_values
from node.permissions.service import component_actions
from node.spaces.service import update_component
from node.verification.service import HANDLER_LABELS
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

from node.permissions.routes import ROUTE


async def permissions_page(request: web.Request) -> web.Response:
    user = require_admin(request)
    async with request.app[DB]() as db:
        space = await load_space(request, db)
        component = await load_component(request, db, space)
    actions = component_actions(component)
    if not actions:
        raise user_error(404, "Nothing can be restricted in this component.")
    errors: dict = {}
    values = form_values((component.settings or {}).get("permissions") or {}, actions)
    if request.method == "POST":
        form = await request.post()
        permissions, errors = parse_permissions(form, actions)
        if not errors:
            async with request.app[DB].begin() as db:
                fresh = await load_component(request, db, space)
                old = dict((fresh.settings or {}).get("permissions") or {})
                if old != permissions:
                    await update_component(db, fresh, {"settings": {"permissions": permissions}})
                    await log_action(db, user, "permissions.changed", subject_type="component",
                                     subject_id=fresh.id, data={"space_id": space.id, "old": old, "new": permissions})
            raise redirect(request, ROUTE, "saved", space_id=space.id, component_id=component.id)
        values = posted_values(form, actions)
    return render(request, "admin/component_permissions.html", {
        "space": space, "component": component, "actions": actions, "handlers": HANDLER_LABELS,
        "values": values, "errors": translate_errors(request, errors), "done": done_message(request)},
        status=422 if errors else 200)

