"""Admin of a process's phases: add, edit, activate, reorder, delete."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.admin.forms import flat, form_values, int_param, redirect, translate_errors, translated
from node.admin.spaces import load_space
from node.appkeys import DB
from node.spaces.models import Phase
from node.spaces.service import (SpaceError, activate_phase, add_phase, delete_phase, move_phase,
                                 update_phase)
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render


async def load_phase(request: web.Request, db, space) -> Phase:
    phase = await db.scalar(select(Phase).where(Phase.id == int_param(request, "phase_id"),
                                                Phase.space_id == space.id))
    if phase is None:
        raise user_error(404, "This space has no such phase.")
    return phase


def read_phase_form(form) -> dict:
    return {"title": translated(form, "title"), "description": translated(form, "description"),
            "start_date": str(form.get("start_date", "")), "end_date": str(form.get("end_date", ""))}


def phase_form_values(phase: Phase) -> dict:
    return {**flat(phase.title, "title"), **flat(phase.description, "description"),
            "start_date": phase.start_date.isoformat() if phase.start_date else "",
            "end_date": phase.end_date.isoformat() if phase.end_date else ""}


async def phase_form(request: web.Request) -> web.Response:
    """Adds a phase (no phase_id in the URL) or edits one."""
    require_admin(request)
    editing = "phase_id" in request.match_info
    errors: dict = {}
    async with request.app[DB]() as db:
        space = await load_space(request, db)
        phase = await load_phase(request, db, space) if editing else None
    values = phase_form_values(phase) if phase else {}
    if request.method == "POST":
        form = await request.post()
        try:
            async with request.app[DB].begin() as db:
                if editing:
                    await update_phase(db, await load_phase(request, db, space), read_phase_form(form))
                else:
                    await add_phase(db, space, read_phase_form(form))
            raise redirect(request, "admin_space", "saved" if editing else "created", space_id=space.id)
        except SpaceError as exc:
            errors, values = exc.errors, form_values(form)
    return render(request, "admin/phase_form.html",
                  {"space": space, "phase": phase, "values": values, "errors": translate_errors(request, errors)},
                  status=422 if errors else 200)


async def phase_action(request: web.Request) -> web.Response:
    require_admin(request)
    action = request.match_info["action"]
    form = await request.post()
    async with request.app[DB].begin() as db:
        space = await load_space(request, db)
        phase = await load_phase(request, db, space)
        if action == "activate":
            await activate_phase(db, space.id, phase.id)
            done = "activated"
        elif action == "move":
            await move_phase(db, phase, -1 if form.get("direction") == "up" else 1)
            done = "moved"
        else:
            await delete_phase(db, phase)
            done = "deleted"
    raise redirect(request, "admin_space", done, space_id=space.id)
