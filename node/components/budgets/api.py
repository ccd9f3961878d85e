"""Public JSON read API of budgets (``/api/spaces/<slug>/budgets``, ``/api/budgets/<id>``).

Votes, the number of ballots and the selected projects appear only once the budget's results are
published (node.components.budgets.settings.results_visible; imported budgets always): a running
tally changes how people vote. Routes are registered lazily by routes.setup_api; the OpenAPI part
is openapi() here, imported when the document is built.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.api.pagination import PAGE_PARAMETERS, page_request, page_schema
from node.api.views import json
from node.appkeys import DB, SETTINGS
from node.components.budgets.models import Budget
from node.components.budgets.settings import OUTCOME_RULES, results_visible, settings_of, voting_open
from node.spaces.models import Component, Space
from node.spaces.service import space_phases
from node.web.errors import user_error

MAX_ID = 2**31 - 1


def visible_query():
    return (select(Budget, Component, Space).join(Component, Component.id == Budget.component_id)
            .join(Space, Space.id == Budget.space_id)
            .where(Component.published.is_(True), Component.kind == "budgets", Space.published.is_(True)))


async def _state(db, space: Space, component: Component) -> tuple[bool, bool]:
    settings = settings_of(component)
    phases = await space_phases(db, space.id)
    active = next((p.id for p in phases if p.active), None)
    return voting_open(settings, active), results_visible(settings, phases, active)


async def budget_json(db, base: str, budget: Budget, component: Component, space: Space, *,
                      with_projects: bool, app: web.Application | None = None) -> dict:
    """A budget as the API gives it. ``app``: the serving app, whose outcomes are kept between
    requests (node.components.budgets.results.count); an export counts without one."""
    from collections import OrderedDict

    from node.components.budgets import results as counting
    from node.components.budgets.routes import OUTCOMES
    from node.components.budgets.service import budget_uri, projects_of

    settings = settings_of(component)
    open_now, shown = await _state(db, space, component)
    shown = shown or budget.imported
    projects = list((await projects_of(db, budget.id)).values())
    uri = budget_uri(base, space.slug, budget)
    item = {"id": budget.id, "url": uri, "space": space.slug, "component_id": component.id,
            "title": budget.title, "description": budget.description, "total": str(budget.total),
            "currency": budget.currency, "ballot_kind": settings["ballot_kind"],
            "rule": counting.rule_of(budget, settings), "vote_type": counting.vote_type_of(budget, settings),
            "postal_codes": list(budget.postal_codes or []), "imported": budget.imported,
            "voting_open": open_now and not budget.imported, "results_published": shown,
            "projects_count": len(projects), "ballots": f"{uri}/ballots.json", "results": f"{uri}/results.json"}
    outcomes = app if app is not None else {OUTCOMES: OrderedDict()}
    counted = await counting.count(outcomes, db, budget, settings, projects) if shown else None
    if counted is not None:
        by_key = {key: project_id for project_id, key in counted.keys.items()}
        item["ballots_count"] = counted.ballots
        item["selected"] = [by_key[key] for key in counted.outcome.selected]
    if with_projects:
        item["projects"] = []
        for project in projects:
            entry = {"id": project.id, "title": project.title, "description": project.description,
                     "cost": str(project.cost), "category": project.category, "address": project.address,
                     "proposal_ids": list(project.proposal_ids or []), "feasibility": project.feasibility,
                     "feasibility_reason": project.feasibility_reason}
            if counted is not None:
                result = counted.result(project)
                entry["votes"] = counting.exact(result.score) if result is not None else None
                entry["selected"] = bool(result and result.selected)
            item["projects"].append(entry)
    return item


async def list_budgets(request: web.Request) -> web.Response:
    paging = page_request(request)
    async with request.app[DB]() as db:
        space = await db.scalar(select(Space).where(Space.slug == request.match_info["slug"],
                                                    Space.published.is_(True)))
        if space is None:
            raise user_error(404, "No published space has this slug.")
        query = visible_query().where(Budget.space_id == space.id)
        total = await db.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await db.execute(query.order_by(Budget.component_id, Budget.position, Budget.id)
                                 .offset(paging.offset).limit(paging.per_page))).all()
        base = request.app[SETTINGS].base_url
        items = [await budget_json(db, base, b, c, s, with_projects=False, app=request.app) for b, c, s in rows]
    return json(paging.envelope(items, total))


async def get_budget(request: web.Request) -> web.Response:
    raw = request.match_info["budget_id"]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise user_error(404, "No published budget has this id.")
    async with request.app[DB]() as db:
        row = (await db.execute(visible_query().where(Budget.id == int(raw)))).first()
        if row is None:
            raise user_error(404, "No published budget has this id.")
        item = await budget_json(db, request.app[SETTINGS].base_url, *row, with_projects=True, app=request.app)
    return json(item)


def openapi() -> tuple[dict, dict]:
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    translated = {"$ref": "#/components/schemas/Translated"}
    decimal = {"type": "string", "description": "An exact decimal number, as text."}
    after_results = " Only present once the budget's results are published (results_published)."
    budget_props = {
        "id": {"type": "integer"}, "url": {"type": "string", "format": "uri"}, "space": {"type": "string"},
        "component_id": {"type": "integer"}, "title": translated, "description": translated,
        "total": decimal, "currency": {"type": "string", "description": "ISO 4217 code."},
        "ballot_kind": {"type": "string", "enum": ["budget_cap", "project_count", "cumulative", "choose_one"]},
        "rule": {"type": "string", "description": "The outcome rule (Pabulib name), e.g. "
                 + ", ".join(OUTCOME_RULES) + "."},
        "vote_type": {"type": "string", "description": "Pabulib vote type of its ballots."},
        "postal_codes": {"type": "array", "items": {"type": "string"},
                         "description": "Only residents verified in these postal codes vote; empty: no restriction."},
        "imported": {"type": "boolean", "description": "A past vote imported from a Pabulib file."},
        "voting_open": {"type": "boolean"}, "results_published": {"type": "boolean"},
        "projects_count": {"type": "integer"},
        "ballots": {"type": "string", "format": "uri", "description": "The public ballot list (JSON)."},
        "results": {"type": "string", "format": "uri", "description": "The results (JSON)."},
        "ballots_count": {"type": "integer", "description": "Cast ballots." + after_results},
        "selected": {"type": "array", "items": {"type": "integer"},
                     "description": "Ids of the selected projects, in the order of selection." + after_results},
    }
    required = ["id", "url", "space", "component_id", "title", "total", "currency", "ballot_kind", "rule",
                "voting_open", "results_published", "projects_count"]
    project = {"type": "object", "required": ["id", "title", "cost", "feasibility"], "properties": {
        "id": {"type": "integer"}, "title": translated, "description": translated, "cost": decimal,
        "category": {"type": "string"}, "address": {"type": "string"},
        "proposal_ids": {"type": "array", "items": {"type": "integer"}},
        "feasibility": {"type": "string", "enum": ["pending", "feasible", "unfeasible"]},
        "feasibility_reason": {"type": "string"},
        "votes": {"type": ["string", "null"], "description": "Votes (approval) or points, exact; null for "
                  "an unfeasible project, which is not on the ballot." + after_results},
        "selected": {"type": "boolean", "description": after_results.strip()}}}
    paths = {
        "/api/spaces/{slug}/budgets": {"get": {
            "summary": "Participatory budgets of a published space", "operationId": "listBudgets",
            "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                           *PAGE_PARAMETERS],
            "responses": {"200": {"description": "A page of budgets", "content": {
                "application/json": {"schema": page_schema("#/components/schemas/Budget")}}},
                "400": error, "404": error}}},
        "/api/budgets/{id}": {"get": {
            "summary": "One budget with its projects", "operationId": "getBudget",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "The budget", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/BudgetWithProjects"}}}}, "404": error}}},
    }
    schemas = {
        "Budget": {"type": "object", "required": required, "properties": budget_props},
        "BudgetProject": project,
        "BudgetWithProjects": {"type": "object", "required": [*required, "projects"], "properties": {
            **budget_props, "projects": {"type": "array", "items": {"$ref": "#/components/schemas/BudgetProject"}}}},
    }
    return paths, schemas
