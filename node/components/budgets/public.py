"""``GET /spaces/<slug>/budgets.json``: the budgets of a space as any node (or person) may read
them — projects, costs, the ballot kind and its limits, whether voting is open now.

Budgets are not announced to a space's followers like proposals: a partner node reads this when
its resident opens "Vote in the budgets of this space" on the space's mirror
(node.cohosting.ballots_home), so the ballot form shows the host's projects and rules as they
are at that moment. Ballots and results stay on their own pages (views.py)."""
from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import select

from node.activitypub import uris
from node.appkeys import DB, SETTINGS
from node.components.budgets import service
from node.components.budgets.models import Budget
from node.components.budgets.results import rule_of, vote_type_of
from node.components.budgets.settings import settings_of, voting_open
from node.spaces.models import Component, Phase
from node.spaces.views import visible_space


def project_uri(budget_uri: str, project_id: int) -> str:
    """A project's id in a ballot's ``selection`` (the budget page's anchor of the project)."""
    return f"{budget_uri}#project-{project_id}"


async def space_budgets_json(request: web.Request) -> web.Response:
    base = request.app[SETTINGS].base_url
    async with request.app[DB]() as db:
        space = await visible_space(request, db)
        components = (await db.scalars(select(Component).where(
            Component.space_id == space.id, Component.kind == "budgets", Component.published.is_(True))
            .order_by(Component.position, Component.id))).all()
        phase_id = await db.scalar(select(Phase.id).where(Phase.space_id == space.id, Phase.active.is_(True)))
        found = []
        for component in components:
            settings = settings_of(component)
            budgets = (await db.scalars(select(Budget).where(Budget.component_id == component.id)
                                        .order_by(Budget.position, Budget.id))).all()
            for budget in budgets:
                uri = service.budget_uri(base, space.slug, budget)
                projects = (await service.projects_of(db, budget.id)).values()
                found.append({
                    "id": uri, "number": budget.id, "component": component.id, "url": uri,
                    "ballots": f"{uri}/ballots", "results": f"{uri}/results",
                    "title": budget.title, "description": budget.description,
                    "total": str(budget.total), "currency": budget.currency,
                    "ballotKind": settings["ballot_kind"], "minProjects": int(settings["min_projects"]),
                    "maxProjects": int(settings["max_projects"]), "points": int(settings["points"]),
                    # What a recount needs to count the public ballots as the host does.
                    "rule": rule_of(budget, settings), "voteType": vote_type_of(budget, settings),
                    "votingOpen": voting_open(settings, phase_id) and not budget.imported,
                    # Postal codes are checked by the voter's node, on their verification, which
                    # stays there: it attests "one of these" (node.cohosting.ballots_home).
                    "restricted": bool(budget.postal_codes), "postalCodes": list(budget.postal_codes or []),
                    "projects": [{"id": project_uri(uri, p.id), "number": p.id, "title": p.title,
                                  "description": p.description, "cost": str(p.cost), "category": p.category,
                                  "feasibility": p.feasibility} for p in projects]})
    body = {"space": uris.space_actor(base, space.slug), "budgets": found}
    return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False),
                             headers={"Cache-Control": "no-store"})
