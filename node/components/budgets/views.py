"""Residents' pages of a budgets component (no JavaScript needed): the list of budgets, a
budget with its projects and the visitor's basket, the checkout and its receipt, the public
ballots and the results. Every refusal answers with its status and a message saying why;
nothing is written when a rule says no."""
from __future__ import annotations

import json
import shlex
from decimal import Decimal
from fractions import Fraction
from urllib.parse import urlsplit

from aiohttp import web
from babel.numbers import format_currency
from sqlalchemy import select

from node.appkeys import DB, GETTEXT, LOCALE, NODE_INFO, SETTINGS, USER
from node.components.budgets import service
from node.components.budgets.models import Ballot, Budget
from node.components.budgets.service import BudgetError, Rules, refuse
from node.components.budgets.settings import results_visible, settings_of, voting_open
from node.i18n import N_, pick
from node.permissions.web import notice, public_requirements, refusal, request_decision
from node.spaces.models import Component
from node.spaces.service import space_phases
from node.spaces.views import visible_space
from node.web.context import require_user
from node.web.errors import user_error
from node.web.render import render

MAX_ID = 2**31 - 1
BALLOTS_PER_PAGE = 100
DONE = {
    "added": N_("The project is in your basket."),
    "removed": N_("The project is out of your basket."),
    "points": N_("Your points are saved in your basket."),
}
NOT_PUBLISHED = N_("The ballots and the results are published once voting has ended.")


def _is_admin(request: web.Request) -> bool:
    user = request.get(USER)
    return bool(user and user.is_admin)


def _id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise user_error(404, "This budget does not exist.")
    return int(raw)


def message(request: web.Request, value) -> str:
    gettext = request.get(GETTEXT) or (lambda s: s)
    if isinstance(value, tuple):
        msgid, values = value
        return gettext(msgid) % values
    return gettext(value)


def _fail(request: web.Request, exc: BudgetError) -> web.HTTPException:
    return user_error(exc.status, message(request, exc.message))


def base_url(request: web.Request) -> str:
    return request.app[SETTINGS].base_url or f"{request.scheme}://{request.host}"


def money_formatter(request: web.Request, currency: str):
    locale = request.get(LOCALE, "en")

    def money(value) -> str:
        if value is None:
            return ""
        if isinstance(value, Fraction):
            value = Decimal(value.numerator) / Decimal(value.denominator)
        return format_currency(value, currency, locale=locale)

    return money


async def _component(request: web.Request, db, space) -> Component:
    component = await db.scalar(select(Component).where(
        Component.id == _id(request, "component_id"), Component.space_id == space.id, Component.kind == "budgets"))
    if component is None or (not component.published and not _is_admin(request)):
        raise user_error(404, "This space has no such component.")
    return component


async def load_budget(request: web.Request, db):
    """(space, component, budget) named in the URL, if this visitor may see them."""
    space = await visible_space(request, db)
    component = await _component(request, db, space)
    budget = await db.scalar(select(Budget).where(Budget.id == _id(request, "budget_id"),
                                                  Budget.component_id == component.id))
    if budget is None:
        raise user_error(404, "This budget does not exist.")
    return space, component, budget


def budget_url(request: web.Request, space, budget, route: str = "budget", **query) -> str:
    url = request.app.router[route].url_for(slug=space.slug, component_id=str(budget.component_id),
                                           budget_id=str(budget.id))
    return str(url.with_query(query) if query else url)


async def _phase_state(db, space, settings) -> tuple[bool, bool, int | None]:
    phases = await space_phases(db, space.id)
    active = next((p.id for p in phases if p.active), None)
    return voting_open(settings, active), results_visible(settings, phases, active), active


async def view(request: web.Request, space, component) -> web.Response:
    """The component's page: its budgets, and for a logged-in resident where their ballot is."""
    settings = settings_of(component)
    user = request.get(USER)
    async with request.app[DB]() as db:
        budgets = list((await db.scalars(select(Budget).where(Budget.component_id == component.id)
                                         .order_by(Budget.position, Budget.id))).all())
        open_now, shown, _ = await _phase_state(db, space, settings)
        mine = {}
        if user is not None and budgets:
            mine = {b.budget_id: b for b in (await db.scalars(select(Ballot).where(
                Ballot.user_id == user.id, Ballot.budget_id.in_([b.id for b in budgets])))).all()}
    return render(request, "components/budgets/index.html", {
        "space": space, "component": component, "settings": settings, "budgets": budgets, "mine": mine,
        "voting_open": open_now, "results_shown": shown or _is_admin(request),
        "money": lambda budget, value: money_formatter(request, budget.currency)(value),
        "requirements": public_requirements(request, component)})


async def show(request: web.Request) -> web.Response:
    user = request.get(USER)
    async with request.app[DB]() as db:
        space, component, budget = await load_budget(request, db)
        settings = settings_of(component)
        projects = await service.projects_of(db, budget.id)
        open_now, shown, _ = await _phase_state(db, space, settings)
        ballot = await service.ballot_of(db, budget.id, user) if user is not None else None
        choices = await service.items_of(db, ballot.id) if ballot is not None else {}
        refused = None
        if user is not None and open_now and not budget.imported and not (ballot and ballot.checked_out_at):
            refused = notice(request, await request_decision(request, db, component, "vote"))
            if refused is None and not await service.postal_code_allowed(db, budget, user):
                refused = {"explanation": _postal_refusal(request, budget), "fix": "", "fix_url": None}
    rules = Rules.of(settings, budget)
    done = request.query.get("done", "")
    return render(request, "components/budgets/show.html", {
        "space": space, "component": component, "settings": settings, "budget": budget, "rules": rules,
        "projects": list(projects.values()), "by_id": projects, "ballot": ballot, "choices": choices,
        "used": service.cost_of({p: v for p, v in choices.items() if p in projects}, projects),
        "points_used": sum(v or 0 for v in choices.values()), "voting_open": open_now and not budget.imported,
        "can_vote": user is not None and open_now and not budget.imported and refused is None
        and not (ballot and ballot.checked_out_at),
        "refused": refused, "results_shown": shown or budget.imported, "is_admin": _is_admin(request),
        "money": money_formatter(request, budget.currency), "done": message(request, DONE[done]) if done in DONE else None,
        "requirements": public_requirements(request, component)})


def _postal_refusal(request: web.Request, budget) -> str:
    return message(request, (N_("Only residents of these postal codes may vote in this budget: %(codes)s."),
                             {"codes": ", ".join(budget.postal_codes)}))


async def _may_vote(request: web.Request, db, space, component, budget, user):
    """None, or the response refusing this resident's vote (permissions, postal codes)."""
    decision = await request_decision(request, db, component, "vote")
    if not decision.allowed:
        return refusal(request, decision, budget_url(request, space, budget))
    if not await service.postal_code_allowed(db, budget, user):
        raise user_error(403, _postal_refusal(request, budget))
    return None


def _int_field(value) -> int:
    text = str(value or "").strip()
    if not text.isdigit() or int(text) > MAX_ID:
        raise refuse(N_("Enter a whole number of points, 0 or more."), 422)
    return int(text)


async def basket(request: web.Request) -> web.Response:
    user = require_user(request)
    async with request.app[DB]() as db:
        space, component, budget = await load_budget(request, db)
        refused = await _may_vote(request, db, space, component, budget, user)
    if refused is not None:
        return refused
    form = await request.post()
    action = str(form.get("action", ""))
    try:
        if action not in ("add", "remove", "points"):
            raise refuse(N_("Use the page's buttons to change your basket."), 400)
        change: dict = {}
        if action == "points":
            change["points"] = {}
            for key in form:
                if key.startswith("points_"):
                    raw = key.removeprefix("points_")
                    if not raw.isdigit():
                        raise refuse(N_("This project is not in this budget. Reload the page and try again."), 422)
                    change["points"][int(raw)] = _int_field(form[key])
        else:
            raw = str(form.get("project", ""))
            if not raw.isdigit() or int(raw) > MAX_ID:
                raise refuse(N_("This project is not in this budget. Reload the page and try again."), 422)
            change[action] = int(raw)
        async with request.app[DB].begin() as db:
            fresh = await db.get(Budget, budget.id)
            await service.change_basket(db, fresh, user, **change)
    except BudgetError as exc:
        raise _fail(request, exc) from None
    done = {"add": "added", "remove": "removed", "points": "points"}[action]
    raise web.HTTPSeeOther(budget_url(request, space, budget, done=done) + "#basket")


def shell_command(canonical: str) -> str:
    """The command that recomputes a receipt in a POSIX shell."""
    return f"printf '%s' {shlex.quote(canonical)} | sha256sum"


async def checkout(request: web.Request) -> web.Response:
    user = require_user(request)
    async with request.app[DB]() as db:
        space, component, budget = await load_budget(request, db)
        settings = settings_of(component)
        open_now, _shown, _ = await _phase_state(db, space, settings)
        refused = await _may_vote(request, db, space, component, budget, user)
        projects = await service.projects_of(db, budget.id)
        ballot = await service.ballot_of(db, budget.id, user)
        choices = await service.items_of(db, ballot.id) if ballot is not None else {}
    if refused is not None:
        return refused
    rules = Rules.of(settings, budget)
    money = money_formatter(request, budget.currency)
    if request.method == "GET":
        try:
            if budget.imported:
                raise refuse(service.IMPORTED, 409)
            if ballot is not None and ballot.checked_out_at is not None:
                raise refuse(service.ALREADY_VOTED, 409)
            if not open_now:
                raise refuse(service.NOT_OPEN, 403)
            # The checkout's own checks, shown before the voter confirms anything.
            service.check_choices(rules, projects, choices, final=True)
        except BudgetError as exc:
            problem = message(request, exc.message)
            if exc.status != 422:
                raise user_error(exc.status, problem) from None
        else:
            problem = None
        return render(request, "components/budgets/checkout.html", {
            "space": space, "component": component, "budget": budget, "settings": settings, "rules": rules,
            "items": [(projects[p], points) for p, points in choices.items() if p in projects],
            "used": service.cost_of({p: v for p, v in choices.items() if p in projects}, projects),
            "points_used": sum(v or 0 for v in choices.values()), "money": money, "problem": problem},
            status=422 if problem else 200)
    form = await request.post()
    try:
        if budget.imported:
            raise refuse(service.IMPORTED, 409)
        if not open_now:  # checked again when casting, in the writing transaction
            raise refuse(service.NOT_OPEN, 403)
        async with request.app[DB].begin() as db:
            fresh = await db.get(Budget, budget.id)
            confirmed = service.confirmed_choices(form, rules, await service.projects_of(db, budget.id))
            current = await service.ballot_of(db, budget.id, user)
            if current is not None and current.checked_out_at is not None:
                raise refuse(service.ALREADY_VOTED, 409)
            held = await service.items_of(db, current.id) if current is not None else {}
            if confirmed != held:
                raise refuse(N_("What you confirmed is not what your basket holds (it changed in another window?). "
                                "Review your basket and confirm again."), 409)
            cast = await service.check_and_store_ballot(db, fresh, user, confirmed, base_url=base_url(request))
    except BudgetError as exc:
        raise _fail(request, exc) from None
    # Rendered here rather than after a redirect: the salt is shown this once and stored nowhere.
    return render(request, "components/budgets/receipt.html", {
        "space": space, "component": component, "budget": budget, "receipt": cast.ballot.receipt,
        "salt": cast.salt, "canonical": cast.canonical, "command": shell_command(cast.canonical)})


async def _published(request: web.Request, db, space, component) -> dict:
    settings = settings_of(component)
    _open, shown, _ = await _phase_state(db, space, settings)
    return {"settings": settings, "shown": shown}


def _check_published(request: web.Request, budget, state: dict) -> bool:
    """Whether the page is an administrator's preview; 403 for anyone else before publication."""
    if state["shown"] or budget.imported:
        return False
    if _is_admin(request):
        return True
    raise user_error(403, NOT_PUBLISHED)


def _title_picker(request: web.Request):
    locale = request.get(LOCALE, "en")
    default = request.app[NODE_INFO].get("default_locale", "en")
    return lambda field: pick(field, locale, default)


async def ballots(request: web.Request) -> web.Response:
    return await _ballots(request, wants_json=False)


async def ballots_json(request: web.Request) -> web.Response:
    return await _ballots(request, wants_json=True)


async def _ballots(request: web.Request, *, wants_json: bool) -> web.Response:
    from node.components.budgets.results import cast_ballots, project_keys

    async with request.app[DB]() as db:
        space, component, budget = await load_budget(request, db)
        preview = _check_published(request, budget, await _published(request, db, space, component))
        projects = await service.projects_of(db, budget.id)
        rows = await cast_ballots(db, budget.id)
    keys = project_keys(list(projects.values()))
    title = _title_picker(request)
    if wants_json:
        return web.json_response({
            "budget": service.budget_uri(base_url(request), space.slug, budget), "ballots_count": len(rows),
            "projects": [{"id": p.id, "pabulib_id": keys[p.id], "title": title(p.title), "cost": str(p.cost),
                          "feasibility": p.feasibility} for p in projects.values()],
            "ballots": [_ballot_json(row) for row in rows]}, dumps=lambda v: json.dumps(v, ensure_ascii=False))
    wanted = "".join(str(request.query.get("receipt", "")).split()).lower()
    if wanted:
        rows = [r for r in rows if (r[1] or "").startswith(wanted) and len(wanted) >= 8]
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, -(-len(rows) // BALLOTS_PER_PAGE))
    shown = rows[(page - 1) * BALLOTS_PER_PAGE:page * BALLOTS_PER_PAGE]
    return render(request, "components/budgets/ballots.html", {
        "space": space, "component": component, "budget": budget, "projects": projects, "rows": shown,
        "total": len(rows), "page": page, "pages": pages, "wanted": wanted, "preview": preview})


def _ballot_json(row) -> dict:
    ballot_id, receipt, source_voter_id, _fields, items = row
    entry = {"receipt": receipt, "imported": source_voter_id is not None}
    if source_voter_id is not None:
        entry["voter_id"] = source_voter_id
    entry["choices"] = [{"project": p} if points is None else {"project": p, "points": str(points)}
                        for p, points, _rank in items]
    return entry


async def results(request: web.Request) -> web.Response:
    return await _results(request, wants_json=False)


async def results_json(request: web.Request) -> web.Response:
    return await _results(request, wants_json=True)


async def _results(request: web.Request, *, wants_json: bool) -> web.Response:
    from node.components.budgets import results as counting

    async with request.app[DB]() as db:
        space, component, budget = await load_budget(request, db)
        state = await _published(request, db, space, component)
        preview = _check_published(request, budget, state)
        projects = list((await service.projects_of(db, budget.id)).values())
        counted = await counting.count(request.app, db, budget, state["settings"], projects)
        own_host = urlsplit(base_url(request)).netloc.lower()
        by_node = await counting.turnout_by_node(db, budget.id, own_host)
    title = _title_picker(request)
    if wants_json:
        return web.json_response({**counting.as_json(counted, title), "turnout_by_node": by_node},
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))
    money = money_formatter(request, budget.currency)
    rows = []
    for project in projects:
        result = counted.result(project)
        if result is None:
            rows.append({"project": project, "result": None, "why": None, "payments": []})
            continue
        msgid, values = counting.explanation(counted, result)
        values = {k: money(v) if k in ("cost", "left", "money") else v for k, v in values.items()}
        payments = [(money(amount), n) for amount, n in counting.payment_groups(result)] if (
            result.selected and result.payments and counted.outcome.details.get("kept") != "greedy") else []
        rows.append({"project": project, "result": result, "why": message(request, (msgid, values)),
                     "payments": payments})
    # Selected first, in the order of selection; then the others by score; unfeasible last.
    rows.sort(key=lambda r: (r["result"] is None, not (r["result"] and r["result"].selected),
                             r["result"].position or 0 if r["result"] else 0,
                             -(r["result"].score if r["result"] else 0)))
    note = counting.comparison_note(counted.outcome)
    share = counted.outcome.details.get("voter_budget")
    return render(request, "components/budgets/results.html", {
        "space": space, "component": component, "budget": budget, "counted": counted, "rows": rows,
        "money": money, "preview": preview, "note": message(request, note) if note else None,
        "by_node": by_node if any(host != own_host for host in by_node) else {},
        "share": money(share) if share is not None else None,
        "points": counted.vote_type in counting.POINTS_TYPES})


async def export(request: web.Request) -> web.Response:
    from node.components.budgets.exchange import export_pb

    async with request.app[DB]() as db:
        space, component, budget = await load_budget(request, db)
        state = await _published(request, db, space, component)
        _check_published(request, budget, state)
        default = request.app[NODE_INFO].get("default_locale", "en")
        text = await export_pb(db, budget, state["settings"], title=lambda field: pick(field, default, default))
    filename = f"{space.slug}-budget-{budget.id}.pb"
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
