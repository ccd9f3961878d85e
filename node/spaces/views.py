"""Public pages of spaces: the list, a space's page, and its components' pages."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.activitypub.actors import space_actor
from node.activitypub.negotiation import wants_activity_json
from node.appkeys import DB, SETTINGS, USER
from node.i18n import N_
from node.cohosting.service import active_partners, cohosted_spaces
from node.components.registry import kinds
from node.spaces.models import SPACE_KINDS, Component, Space
from node.spaces.service import get_space, list_spaces, space_components, space_phases
from node.web.errors import user_error
from node.web.render import render
from node.notifications.follows import follow_state


def _is_admin(request: web.Request) -> bool:
    user = request.get(USER)
    return bool(user and user.is_admin)


UNKNOWN_SPACE = N_("No space has this address. It may have been renamed or not be published yet.")


async def visible_space(request: web.Request, db) -> Space:
    """The space named in the URL, if this visitor may see it (admins see unpublished ones)."""
    space = await get_space(db, request.match_info["slug"])
    if space is None or (not space.published and not _is_admin(request)):
        raise user_error(404, UNKNOWN_SPACE)
    return space


async def spaces_index(request: web.Request) -> web.Response:
    kind = request.query.get("kind")
    kind = kind if kind in SPACE_KINDS else None
    async with request.app[DB]() as db:
        spaces = await list_spaces(db, kind=kind)
        cohosted = await cohosted_spaces(db) if kind is None else []
    return render(request, "spaces/index.html", {"spaces": spaces, "kind": kind, "cohosted": cohosted})


async def space_page(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        space = await visible_space(request, db)
        if wants_activity_json(request) and space.published:
            return await space_actor(request, space)
        phases = await space_phases(db, space.id)
        components = [c for c in await space_components(db, space.id)
                      if c.kind in kinds() and (c.published or _is_admin(request))]
        partners = await active_partners(db, space.id) if space.federation_policy != "local" else []
    host = request.app[SETTINGS].base_url.split("://", 1)[-1]
    return render(request, "spaces/show.html",
                  {"space": space, "phases": phases, "components": components, "partners": partners,
                   "follow_handle": f"{space.slug}@{host}",
                   "follow": await follow_state(request, "space", space.id) if space.published else None})


async def component_page(request: web.Request) -> web.StreamResponse:
    try:
        component_id = int(request.match_info["component_id"])
    except ValueError:
        raise user_error(404, "This space has no such component.") from None
    async with request.app[DB]() as db:
        space = await visible_space(request, db)
        component = await db.scalar(select(Component).where(
            Component.id == component_id, Component.space_id == space.id))
    kind = kinds().get(component.kind) if component is not None else None
    if kind is None or kind.view is None or (not component.published and not _is_admin(request)):
        raise user_error(404, "This space has no such component.")
    return await kind.view(request, space, component)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/spaces", spaces_index, name="spaces")
    app.router.add_get("/spaces/{slug}", space_page, name="space")
    app.router.add_get("/spaces/{slug}/c/{component_id}", component_page, name="component")
