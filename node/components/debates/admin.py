"""Managing a debate: edit it, close it with a conclusion (or correct the conclusion later).
Administrators manage every debate; when the component lets residents open debates, a debate's
author closes it and edits it while nobody has commented. The pages sit next to the debate's."""
from __future__ import annotations

from aiohttp import web

from node.admin.forms import flat, form_values, translate_errors, translated
from node.appkeys import DB, LOCALE, NODE_INFO
from node.components.debates.models import Debate
from node.components.debates.service import DebateError, close_debate, close_refusal, edit_refusal, update_debate
from node.components.debates.views import load_debate
from node.config import LOCALES
from node.web.context import require_user
from node.web.errors import user_error
from node.web.render import render


def _debate_url(request: web.Request, space, component, debate) -> str:
    return str(request.app.router["debate"].url_for(
        slug=space.slug, component_id=str(component.id), debate_id=str(debate.id)))


def _time_value(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


def _language(request: web.Request, debate: Debate) -> str:
    if debate.official:
        return request.app[NODE_INFO].get("default_locale", "en")
    return next(iter(debate.title), request[LOCALE])


def _check(refusal: str | None) -> None:
    if refusal:
        raise user_error(403, refusal)


async def _locked(db, debate_id: int) -> Debate:
    # The row lock makes a comment posted meanwhile wait, so the "no comments yet" rule holds.
    return await db.get(Debate, debate_id, with_for_update=True)


async def edit(request: web.Request) -> web.Response:
    user = require_user(request)
    async with request.app[DB]() as db:
        space, component, debate = await load_debate(request, db)
    _check(edit_refusal(user, debate, component))
    language = _language(request, debate)
    values = {**flat(debate.title, "title"), **flat(debate.description, "description"),
              **flat(debate.instructions, "instructions"),
              "start_at": _time_value(debate.start_at), "end_at": _time_value(debate.end_at)}
    errors = {}
    if request.method == "POST":
        form = await request.post()
        fields = {name: translated(form, name) for name in ("title", "description", "instructions")}
        fields.update(start_at=form.get("start_at"), end_at=form.get("end_at"))
        try:
            async with request.app[DB].begin() as db:
                fresh = await _locked(db, debate.id)
                _check(edit_refusal(user, fresh, component))
                await update_debate(db, fresh, fields, language=language, actor_id=user.id)
            raise web.HTTPSeeOther(_debate_url(request, space, component, debate))
        except DebateError as exc:
            values, errors = form_values(form), translate_errors(request, exc.errors)
    return render(request, "components/debates/form.html", {
        "space": space, "component": component, "debate": debate, "official": debate.official,
        "language": language, "values": values, "errors": errors}, status=422 if errors else 200)


async def close(request: web.Request) -> web.Response:
    user = require_user(request)
    async with request.app[DB]() as db:
        space, component, debate = await load_debate(request, db)
    _check(close_refusal(user, debate, component))
    language = _language(request, debate)
    values, errors = flat(debate.conclusion, "conclusion"), {}
    if request.method == "POST":
        form = await request.post()
        try:
            async with request.app[DB].begin() as db:
                fresh = await _locked(db, debate.id)
                _check(close_refusal(user, fresh, component))
                await close_debate(db, fresh, translated(form, "conclusion"), actor_id=user.id, language=language)
            raise web.HTTPSeeOther(_debate_url(request, space, component, debate) + "#conclusion")
        except DebateError as exc:
            values, errors = form_values(form), translate_errors(request, exc.errors)
    # Organisers conclude in every language; an author in the language they opened the debate in.
    languages = list(LOCALES) if user.is_admin else [language]
    return render(request, "components/debates/close.html", {
        "space": space, "component": component, "debate": debate, "language": language,
        "languages": languages, "values": values, "errors": errors}, status=422 if errors else 200)


def setup_routes(app: web.Application, debate_path: str) -> None:
    for suffix, handler, name in (("/edit", edit, "debate_edit"), ("/close", close, "debate_close")):
        resource = app.router.add_resource(debate_path + suffix, name=name)
        resource.add_route("GET", handler)
        resource.add_route("POST", handler)
