"""Admin of a space's components: add one of the registered kinds, edit its name and settings,
publish, reorder, delete."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.admin.forms import done_message, flat, form_values, int_param, redirect, translate_errors, translated
from node.admin.spaces import load_space, render_overview
from node.appkeys import DB, GETTEXT
from node.components.registry import kinds
from node.config import LOCALES
from node.spaces.models import Component
from node.spaces.service import (SpaceError, add_component, component_name_errors, delete_component, move_component,
                                 set_component_published, update_component)
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render


async def load_component(request: web.Request, db, space) -> Component:
    component = await db.scalar(select(Component).where(
        Component.id == int_param(request, "component_id"), Component.space_id == space.id))
    if component is None:
        raise user_error(404, "This space has no such component.")
    return component


def component_form_values(component: Component) -> dict:
    values = flat(component.name, "name")
    # Kinds keep translatable settings as {setting: {lang: text}}; the form names them setting.lang.
    for key, value in component.settings.items():
        if isinstance(value, dict):
            values.update(flat(value, key))
    return values


async def component_add(request: web.Request) -> web.Response:
    require_admin(request)
    form = await request.post()
    kind_name = str(form.get("kind", ""))
    kind = kinds().get(kind_name)
    # New components are named after their kind, in every language, until an admin renames them.
    name = {lang: request[GETTEXT](kind.label) for lang in LOCALES} if kind else {}
    try:
        async with request.app[DB].begin() as db:
            space = await load_space(request, db)
            component = await add_component(db, space, kind_name, {"name": name, "published": False})
    except SpaceError as exc:
        return await render_overview(request, translate_errors(request, exc.errors))
    raise redirect(request, "admin_component", "created", space_id=space.id, component_id=component.id)


async def component_edit(request: web.Request) -> web.Response:
    require_admin(request)
    errors: dict = {}
    async with request.app[DB]() as db:
        space = await load_space(request, db)
        component = await load_component(request, db, space)
    kind = kinds().get(component.kind)
    values = component_form_values(component)
    if request.method == "POST":
        form = await request.post()
        changes = {"name": translated(form, "name")}
        if kind and kind.parse_settings:
            changes["settings"], errors = kind.parse_settings(form, component.settings)
        try:
            if errors:
                raise SpaceError({**component_name_errors(changes), **errors})
            async with request.app[DB].begin() as db:
                await update_component(db, await load_component(request, db, space), changes)
            raise redirect(request, "admin_component", "saved", space_id=space.id, component_id=component.id)
        except SpaceError as exc:
            errors, values = exc.errors, form_values(form)
    return render(request, "admin/component_form.html", {
        "space": space, "component": component, "kind": kind, "values": values,
        "errors": translate_errors(request, errors), "done": done_message(request)},
        status=422 if errors else 200)


async def component_action(request: web.Request) -> web.Response:
    require_admin(request)
    action = request.match_info["action"]
    form = await request.post()
    async with request.app[DB].begin() as db:
        space = await load_space(request, db)
        component = await load_component(request, db, space)
        if action in ("publish", "unpublish"):
            await set_component_published(db, component, action == "publish")
            done = action + "ed"
        elif action == "move":
            await move_component(db, component, -1 if form.get("direction") == "up" else 1)
            done = "moved"
        else:
            await delete_component(db, component)
            done = "deleted"
    raise redirect(request, "admin_space", done, space_id=space.id)
