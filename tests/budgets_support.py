"""Helpers shared by the budgets tests (this module holds no tests itself)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from node.appkeys import DB
from node.components.budgets import service
from node.components.budgets.models import Ballot, BallotItem, Budget
from node.spaces.models import Component
from node.spaces.service import add_component
from tests.spaces_support import make_space


async def budgets_component(app, slug: str = "pb-2027", phases: int = 0, **settings):
    space, phase_rows, _ = await make_space(app, slug, phases=phases)
    async with app[DB].begin() as db:
        component = await add_component(db, space, "budgets", {
            "name": {"en": "Budgets", "fr": "Budgets"}, "settings": settings})
    return space, component, phase_rows


async def make_budget(app, component, total="100000", title="District budget", **values) -> Budget:
    async with app[DB].begin() as db:
        row = await db.get(Component, component.id)
        return await service.create_budget(db, row, {"title": {"en": title}, "total": total, "currency": "EUR",
                                                     **values}, language="en")


async def make_project(app, budget, title: str, cost, **values):
    async with app[DB].begin() as db:
        fresh = await db.get(Budget, budget.id)
        return await service.create_project(db, fresh, {"title": {"en": title}, "cost": str(cost),
                                                        "feasibility": "feasible", **values}, language="en")


async def set_settings(app, component, **settings) -> None:
    async with app[DB].begin() as db:
        row = await db.get(Component, component.id)
        row.settings = {**row.settings, **settings}


def budget_path(space, component, budget, suffix: str = "") -> str:
    return f"/spaces/{space.slug}/c/{component.id}/budgets/{budget.id}{suffix}"


async def basket(web, space, component, budget, action: str, project=None, **fields):
    data = {"action": action, **fields}
    if project is not None:
        data["project"] = str(getattr(project, "id", project))
    path = budget_path(space, component, budget)
    return await web.post(path + "/basket", data, csrf_from_path=path)


async def checkout(web, space, component, budget, tamper=None):
    """Review the basket, then confirm the form as shown (after `tamper(fields)` if given)."""
    path = budget_path(space, component, budget, "/checkout")
    review = await web.get(path)
    assert review.status == 200, review.text[:2000]
    fields = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', review.text):
        fields.setdefault(name, []).append(value)
    if tamper:
        tamper(fields)
    data = [(name, value) for name, values in fields.items() for value in values]
    async with web.session.post(web.base + path, data=data) as response:
        from tests.helpers import Page

        return Page(response.status, str(response.url), await response.text(), dict(response.headers))


async def ballots_of(app, budget) -> list[tuple]:
    """(user id, checked out, receipt, {project id: points}) of every ballot of the budget."""
    async with app[DB]() as db:
        rows = (await db.scalars(select(Ballot).where(Ballot.budget_id == budget.id).order_by(Ballot.id))).all()
        result = []
        for ballot in rows:
            items = dict((await db.execute(select(BallotItem.project_id, BallotItem.points)
                                           .where(BallotItem.ballot_id == ballot.id))).all())
            result.append((ballot.user_id, ballot.checked_out_at is not None, ballot.receipt,
                           {k: (int(v) if v is not None else None) for k, v in items.items()}))
        return result


async def count_budgets(app) -> int:
    async with app[DB]() as db:
        return await db.scalar(select(func.count()).select_from(Budget))
