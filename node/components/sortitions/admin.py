"""Admin of draws: the list, announcing a draw, and typing in the third party's value once the
draw time has passed. There is deliberately no page to edit a draw: what was announced stays as
announced, and a drawn draw is final."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.admin.components import load_component
from node.admin.forms import form_values, redirect, translate_errors, translated
from node.admin.spaces import load_space
from node.appkeys import DB, GETTEXT, SETTINGS
from node.components.sortitions import draws as service
from node.components.sortitions.models import Draw
from node.i18n import N_
from node.spaces.models import Component
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

DONE = {"announced": N_("The draw is announced. Its public page shows the announcement."),
        "drawn": N_("The draw has taken place. Its result is published.")}


async def load_sortitions(request: web.Request, db):
    space = await load_space(request, db)
    component = await load_component(request, db, space)
    if component.kind != "sortitions":
        raise user_error(404, "This space has no such component.")
    return space, component


async def _load_draw(request: web.Request, db, component):
    draw = await db.scalar(select(Draw).where(Draw.id == int(request.match_info["draw_id"]),
                                              Draw.component_id == component.id))
    if draw is None:
        raise user_error(404, "This draw does not exist.")
    return draw


def _done(request: web.Request) -> str | None:
    message = DONE.get(request.query.get("done", ""))
    return request[GETTEXT](message) if message else None


async def draws_admin(request: web.Request) -> web.Response:
    require_admin(request)
    async with request.app[DB]() as db:
        space, component = await load_sortitions(request, db)
        rows = await service.list_draws(db, component.id)
    moment = service.now()
    return render(request, "components/sortitions/admin_draws.html", {
        "space": space, "component": component, "draws": [(d, service.status_of(d, moment)) for d in rows]})


async def announce(request: web.Request) -> web.Response:
    user = require_admin(request)
    async with request.app[DB]() as db:
        space, component = await load_sortitions(request, db)
        sources = await service.proposal_sources(db, space.id)
    values, errors, status = {"count": "1"}, {}, 200
    if request.method == "POST":
        form = await request.post()
        fields = {"title": translated(form, "title"), "seed_source": translated(form, "seed_source"),
                  **{name: form.get(name) for name in ("source", "count", "draw_at", "seed_source_url",
                                                       "seed_method", "reveal_deadline")}}
        try:
            # Loaded again in the transaction; the page's copies stay usable if it rolls back.
            async with request.app[DB].begin() as db:
                fresh_space, fresh_component = await load_sortitions(request, db)
                draw = await service.announce_draw(db, fresh_space, fresh_component, fields, user=user,
                                                   base_url=request.app[SETTINGS].base_url)
            if draw.seed_method == "commit-reveal":  # the host reveals its own secret at the draw time
                from node.components.sortitions import reveal_timer

                reveal_timer.schedule(request.app, draw.draw_at)
            raise redirect(request, "admin_sortition_draw", "announced", space_id=space.id,
                           component_id=component.id, draw_id=draw.id)
        except service.DrawError as exc:
            values, errors, status = form_values(form), translate_errors(request, exc.errors), exc.status
    general = errors.pop("_", None)
    return render(request, "components/sortitions/admin_announce.html", {
        "space": space, "component": component, "sources": sources, "values": values, "errors": errors,
        "general_error": general, "now": service.now()}, status=status if errors or general else 200)


async def manage(request: web.Request) -> web.Response:
    """A draw as the admin sees it, with the form for the value once the draw time has passed."""
    user = require_admin(request)
    base_url = request.app[SETTINGS].base_url
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        form = await request.post()
        try:
            async with request.app[DB].begin() as db:
                space, component = await load_sortitions(request, db)
                draw = await _load_draw(request, db, component)
                await service.enter_seed(db, draw, str(form.get("seed_value", "")), user=user,
                                         base_url=base_url, slug=space.slug)
            raise redirect(request, "admin_sortition_draw", "drawn", space_id=space.id,
                           component_id=component.id, draw_id=draw.id)
        except service.DrawError as exc:
            values, errors, status = form_values(form), translate_errors(request, exc.errors), exc.status
    async with request.app[DB].begin() as db:
        space, component = await load_sortitions(request, db)
        draw = await _load_draw(request, db, component)
        await service.freeze_if_due(db, draw, base_url=base_url, slug=space.slug)
        if draw.seed_method == "commit-reveal":
            from node.components.sortitions import commit_reveal

            await commit_reveal.at_draw_time(request.app, db, draw, slug=space.slug)
        source = await db.get(Component, draw.proposals_component_id) if draw.proposals_component_id else None
    general = errors.pop("_", None)
    return render(request, "components/sortitions/admin_draw.html", {
        "space": space, "component": component, "draw": draw, "status": service.status_of(draw),
        "source": source, "titles": {c["id"]: c["title"] for c in draw.candidates or []}, "values": values,
        "errors": errors, "general_error": general, "done": _done(request)}, status=status)
