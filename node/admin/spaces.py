"""Admin of spaces: list, create, edit (one fieldset per language), publish/unpublish."""
from __future__ import annotations

from aiohttp import web
from node.admin.forms import (done_message, flat, form_values, int_param, redirect,
                              translate_errors, translated)
from node.appkeys import DB, NODE_INFO
from node.components.registry import kinds
from node.spaces.models import Space
from node.spaces.service import (SpaceError, create_space, list_spaces, set_published, space_components,
                                 space_phases, space_roles, update_space)
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

TRANSLATED_FIELDS = ("title", "subtitle", "description")


async def load_space(request: web.Request, db) -> Space:
    space = await db.get(Space, int_param(request, "space_id"))
    if space is None:
        raise user_error(404, "No space has this address.")
    return space


def default_locale(request: web.Request) -> str:
    return request.app[NODE_INFO].get("default_locale", "en")


def read_space_form(form) -> dict:
    values = {name: str(form.get(name, "")) for name in ("slug", "kind", "federation_policy")}
    for field in TRANSLATED_FIELDS:
        values[field] = translated(form, field)
    return values


def space_form_values(space: Space) -> dict:
    values = {"slug": space.slug, "kind": space.kind, "federation_policy": space.federation_policy}
    for field in TRANSLATED_FIELDS:
        values.update(flat(getattr(space, field), field))
    return values


async def spaces_list(request: web.Request) -> web.Response:
    require_admin(request)
    async with request.app[DB]() as db:
        spaces = await list_spaces(db, published_only=False)
    return render(request, "admin/spaces.html", {"spaces": spaces, "done": done_message(request)})


async def space_new(request: web.Request) -> web.Response:
    require_admin(request)
    errors: dict = {}
    values = {"kind": request.query.get("kind", "process"), "federation_policy": "local"}
    if request.method == "POST":
        form = await request.post()
        try:
            async with request.app[DB].begin() as db:
                space = await create_space(db, {**read_space_form(form), "published": form.get("published") == "1"},
                                           default_locale=default_locale(request))
            raise redirect(request, "admin_space", "created", space_id=space.id)
        except SpaceError as exc:
            errors, values = exc.errors, form_values(form)
    return render(request, "admin/space_form.html",
                  {"space": None, "values": values, "errors": translate_errors(request, errors)},
                  status=422 if errors else 200)


async def space_edit(request: web.Request) -> web.Response:
    require_admin(request)
    errors: dict = {}
    async with request.app[DB]() as db:
        space = await load_space(request, db)
    values = space_form_values(space)
    if request.method == "POST":
        form = await request.post()
        try:
            async with request.app[DB].begin() as db:
                space = await load_space(request, db)
                await update_space(db, space, read_space_form(form), default_locale=default_locale(request))
            raise redirect(request, "admin_space", "saved", space_id=space.id)
        except SpaceError as exc:
            errors, values = exc.errors, form_values(form)
    return render(request, "admin/space_form.html",
                  {"space": space, "values": values, "errors": translate_errors(request, errors)},
                  status=422 if errors else 200)


async def render_overview(request: web.Request, errors: dict | None = None, values: dict | None = None,
                          status: int = 422) -> web.Response:
    """The space's admin page; with `errors` (already translated), the answer to a refused form
    on it, showing what was typed in `values`."""
    async with request.app[DB]() as db:
        space = await load_space(request, db)
        phases = await space_phases(db, space.id)
        components = await space_components(db, space.id)
        roles = await space_roles(db, space.id)
    return render(request, "admin/space.html", {
        "space": space, "phases": phases, "components": components, "roles": roles, "kinds": kinds(),
        "done": None if errors else done_message(request), "errors": errors or {}, "values": values or {},
    }, status=status if errors else 200)


async def space_overview(request: web.Request) -> web.Response:
    require_admin(request)
    return await render_overview(request)


async def space_publish(request: web.Request) -> web.Response:
    require_admin(request)
    form = await request.post()
    published = form.get("published") == "1"
    async with request.app[DB].begin() as db:
        space = await load_space(request, db)
        await set_published(db, space, published)
    raise redirect(request, "admin_space", "published" if published else "unpublished", space_id=space.id)
