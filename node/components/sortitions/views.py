"""Public pages of a sortitions component: the list of draws, and each draw as an HTML page and
as the JSON document `civicnode sortition verify` re-runs (same URL with Accept: application/json,
or the URL followed by .json)."""
from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import select

from node.appkeys import DB, SETTINGS, USER
from node.components.sortitions import draws as service
from node.components.sortitions.models import Draw
from node.spaces.models import Component
from node.spaces.views import visible_space
from node.web.errors import user_error
from node.web.render import render


def _is_admin(request: web.Request) -> bool:
    user = request.get(USER)
    return bool(user and user.is_admin)


def _wants_json(request: web.Request) -> bool:
    # The first media type the client names decides, as browsers list text/html first.
    first = request.headers.get("Accept", "").split(",")[0].split(";")[0].strip().lower()
    return first == "application/json" or first.endswith("+json")


async def view(request: web.Request, space, component) -> web.Response:
    async with request.app[DB]() as db:
        rows = await service.list_draws(db, component.id)
    moment = service.now()
    return render(request, "components/sortitions/index.html", {
        "space": space, "component": component, "is_admin": _is_admin(request),
        "draws": [(draw, service.status_of(draw, moment)) for draw in rows]})


async def _load(request: web.Request, db):
    space = await visible_space(request, db)
    component = await db.scalar(select(Component).where(
        Component.id == int(request.match_info["component_id"]), Component.space_id == space.id,
        Component.kind == "sortitions"))
    if component is None or (not component.published and not _is_admin(request)):
        raise user_error(404, "This space has no such component.")
    draw = await db.scalar(select(Draw).where(Draw.id == int(request.match_info["draw_id"]),
                                              Draw.component_id == component.id))
    if draw is None:
        raise user_error(404, "This draw does not exist.")
    return space, component, draw


async def _current(request: web.Request):
    """The draw, its candidates frozen first when its time has passed."""
    base_url = request.app[SETTINGS].base_url
    async with request.app[DB].begin() as db:
        space, component, draw = await _load(request, db)
        await service.freeze_if_due(db, draw, base_url=base_url, slug=space.slug)
        commitments = None
        if draw.seed_method == "commit-reveal":
            from node.components.sortitions import commit_reveal

            await commit_reveal.at_draw_time(request.app, db, draw, slug=space.slug)
            commitments = await commit_reveal.commitments_of(db, draw)
        preview = None
        if draw.candidates_frozen_at is None:
            # Not final: what the draw would take if its time were now, so anyone can watch.
            preview = await service.candidates_at(db, draw, service.now(), base_url=base_url, slug=space.slug)
        source = await db.get(Component, draw.proposals_component_id) if draw.proposals_component_id else None
    return space, component, draw, preview, source, commitments


def _json(request: web.Request, space, draw, commitments) -> web.Response:
    document = service.draw_document(draw, base_url=request.app[SETTINGS].base_url, slug=space.slug,
                                     commitments=commitments)
    response = web.json_response(document, dumps=_dumps)
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public document anyone may check
    return response


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


async def show(request: web.Request) -> web.Response:
    space, component, draw, preview, source, commitments = await _current(request)
    if _wants_json(request):
        return _json(request, space, draw, commitments)
    titles = {c["id"]: c["title"] for c in draw.candidates or []}
    url = str(request.app.router["sortition_draw"].url_for(
        slug=space.slug, component_id=str(component.id), draw_id=str(draw.id)))
    return render(request, "components/sortitions/draw.html", {
        "space": space, "component": component, "draw": draw, "status": service.status_of(draw),
        "preview": preview, "source": source, "titles": titles, "is_admin": _is_admin(request),
        "seeds": service.draw_document(draw, base_url=request.app[SETTINGS].base_url, slug=space.slug,
                                       commitments=commitments) if commitments is not None else None,
        "public_url": request.app[SETTINGS].base_url + url})


async def show_json(request: web.Request) -> web.Response:
    space, _component, draw, _preview, _source, commitments = await _current(request)
    return _json(request, space, draw, commitments)
