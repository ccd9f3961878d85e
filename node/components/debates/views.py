"""Public pages of a debates component: the list, a debate with its comments, and the form
residents use to open a debate when the component allows it."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.accounts.models import User
from node.activitypub.negotiation import wants_activity_json
from node.activitypub.objects import object_response
from node.admin.forms import form_values, translate_errors, translated
from node.appkeys import DB, LOCALE, NODE_INFO, USER
from node.components.comments import setup_routes as setup_comment_routes
from node.components.comments import thread_context
from node.components.debates.models import Debate
from node.i18n import N_
from node.components.debates.service import (FILTERS, DebateError, can_open_debate, close_refusal, comment_target,
                                             create_debate, edit_refusal, list_debates, settings_of)
from node.spaces.models import Component, Space
from node.spaces.views import visible_space
from node.web.cache import cache_routes
from node.web.errors import user_error
from node.moderation.visibility import not_hidden
from node.web.render import render
from node.notifications.follows import follow_state
from node.permissions.web import notice, public_requirements, refusal, request_decision

PER_PAGE = 20
BASE = "/spaces/{slug}/c/{component_id:\\d+}/debates"


def is_admin(request: web.Request) -> bool:
    user = request.get(USER)
    return bool(user and user.is_admin)


async def load_component(request: web.Request, db):
    space = await visible_space(request, db)
    component = await db.scalar(select(Component).where(
        Component.id == int(request.match_info["component_id"]), Component.space_id == space.id,
        Component.kind == "debates"))
    if component is None or (not component.published and not is_admin(request)):
        raise user_error(404, "This space has no such component.")
    return space, component


async def load_debate(request: web.Request, db):
    # One query for the space, the component and the debate: this page is the busiest one.
    row = (await db.execute(
        select(Space, Component, Debate).join(Component, Component.space_id == Space.id)
        .join(Debate, Debate.component_id == Component.id)
        .where(Space.slug == request.match_info["slug"], Component.id == int(request.match_info["component_id"]),
               Component.kind == "debates", Debate.id == int(request.match_info["debate_id"]),
               not_hidden("debate", Debate.id)))).first()
    if row is None or (not (row[0].published and row[1].published) and not is_admin(request)):
        # Tell apart "no such space/component" from "no such debate", as the other pages do.
        await load_component(request, db)
        raise user_error(404, "This debate does not exist. It may have been removed.")
    return row


async def view(request: web.Request, space, component) -> web.Response:
    state = request.query.get("state", "open")
    state = state if state in FILTERS else "open"
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    user = request.get(USER)
    refused_create = None
    async with request.app[DB]() as db:
        rows, total = await list_debates(db, component.id, state, (page - 1) * PER_PAGE, PER_PAGE)
        if can_open_debate(user, component) and not user.is_admin:
            refused_create = notice(request, await request_decision(request, db, component, "create"))
    return render(request, "components/debates/index.html", {
        "space": space, "component": component, "rows": rows, "total": total, "state": state,
        "page": page, "pages": max(1, -(-total // PER_PAGE)), "filters": FILTERS,
        "can_open": can_open_debate(request.get(USER), component),
        "users_can_create": settings_of(component)["users_can_create"], "refused_create": refused_create,
        # Opening debates is only a resident's action when the component allows it.
        "requirements": [r for r in public_requirements(request, component)
                         if r["action"] != "create" or settings_of(component)["users_can_create"]]})


async def show(request: web.Request) -> web.Response:
    if wants_activity_json(request):  # the debate's page is also its federated id
        raw = request.match_info["debate_id"]
        return await object_response(request, "debate.created", int(raw) if raw.isdigit() and len(raw) < 10 else 0)
    async with request.app[DB]() as db:
        space, component, debate = await load_debate(request, db)
        target = comment_target(debate, component, space)
        context = await thread_context(request, db, "debate", debate.id, target)
        author = await db.get(User, debate.author_id) if debate.author_id else None
    user = request.get(USER)
    return render(request, "components/debates/show.html", {
        **context, "space": space, "component": component, "debate": debate, "author": author,
        "is_admin": is_admin(request), "can_edit": edit_refusal(user, debate, component) is None,
        "can_close": close_refusal(user, debate, component) is None,
        "follow": await follow_state(request, "debate", debate.id)})


async def new(request: web.Request) -> web.Response:
    user = request.get(USER)
    async with request.app[DB]() as db:
        space, component = await load_component(request, db)
    if user is None:
        raise web.HTTPSeeOther(request.app.router["login"].url_for().with_query(next=request.path))
    if not can_open_debate(user, component):
        raise user_error(403, "Only the organisers can open debates here.")
    official = user.is_admin
    if not official:  # organisers opening an official debate are not participating: no permission
        async with request.app[DB]() as db:
            decision = await request_decision(request, db, component, "create")
        if not decision.allowed:
            return refusal(request, decision, str(request.app.router["component"].url_for(
                slug=space.slug, component_id=str(component.id))))
    language = request.app[NODE_INFO].get("default_locale", "en") if official else request[LOCALE]
    values, errors = {}, {}
    if request.method == "POST":
        form = await request.post()
        fields = {name: translated(form, name) for name in ("title", "description", "instructions")}
        fields.update(start_at=form.get("start_at"), end_at=form.get("end_at"))
        try:
            async with request.app[DB].begin() as db:
                debate = await create_debate(db, component, fields, author=None if official else user,
                                             language=language)
            raise web.HTTPSeeOther(request.app.router["debate"].url_for(
                slug=space.slug, component_id=str(component.id), debate_id=str(debate.id)))
        except DebateError as exc:
            values, errors = form_values(form), translate_errors(request, exc.errors)
    return render(request, "components/debates/form.html", {
        "space": space, "component": component, "debate": None, "official": official,
        "language": language, "values": values, "errors": errors}, status=422 if errors else 200)


def parse_settings(form, settings: dict) -> tuple[dict, dict]:
    errors = {}
    try:
        max_depth = int(str(form.get("max_depth", "")).strip())
    except ValueError:
        max_depth = -1
    if not 0 <= max_depth <= 10:
        errors["max_depth"] = N_("Enter a whole number from 0 (no replies) to 10.")
        max_depth = settings.get("max_depth", 3)
    return {"users_can_create": form.get("users_can_create") == "1",
            "comments_enabled": form.get("comments_enabled") == "1",
            "max_depth": max_depth}, errors


def setup_routes(app: web.Application) -> None:
    from node.components.debates import admin

    setup_comment_routes(app)
    new_resource = app.router.add_resource(BASE + "/new", name="debate_new")
    new_resource.add_route("GET", new)
    new_resource.add_route("POST", new)
    app.router.add_get(BASE + "/{debate_id:\\d+}", show, name="debate")
    cache_routes(app, "debate")
    admin.setup_routes(app, BASE + "/{debate_id:\\d+}")
