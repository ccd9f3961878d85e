"""Admin of a proposals component beyond the generic settings form: the phases in which supports
are open (the form needs the space's phases, which the generic form does not load) and a recount
of supports after the minimum per person changed."""
from __future__ import annotations

from aiohttp import web

from node.admin.components import load_component
from node.admin.forms import redirect
from node.admin.spaces import load_space
from node.appkeys import DB, GETTEXT
from node.components.proposals.settings import settings_of
from node.components.proposals.supports import recount_supports
from node.spaces.service import space_phases, update_component
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render


async def supports_admin(request: web.Request) -> web.Response:
    require_admin(request)
    async with request.app[DB].begin() as db:
        space = await load_space(request, db)
        component = await load_component(request, db, space)
        if component.kind != "proposals":
            raise user_error(404, "This space has no such component.")
        phases = await space_phases(db, space.id)
        if request.method == "POST":
            form = await request.post()
            known = {p.id for p in phases}
            chosen = sorted({int(v) for v in form.getall("support_phases", []) if v.isdigit()} & known)
            if form.get("action") == "recount":
                await recount_supports(db, component)
            else:
                await update_component(db, component, {"settings": {"support_phases": chosen}})
    if request.method == "POST":
        # Raised after the block: an exception inside it would roll the change back.
        raise redirect(request, "admin_proposals_supports", "saved", space_id=space.id, component_id=component.id)
    done = request.query.get("done") == "saved"
    return render(request, "components/proposals/admin_supports.html", {
        "space": space, "component": component, "phases": phases, "settings": settings_of(component),
        "done": request[GETTEXT]("Your changes were saved.") if done else None})
