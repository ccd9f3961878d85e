"""Participatory budgets in the open-data exports: the API's budget objects in the JSON, a
budgets.csv and a budget_projects.csv in the zip; votes only once the results are published."""
from __future__ import annotations

import json

from node.appkeys import DB, SETTINGS
from node.components.budgets.models import Budget
from node.components.budgets.service import check_and_store_ballot
from node.opendata.formats import flatten
from tests.budgets_support import budgets_component, make_budget, make_project, set_settings
from tests.opendata_support import read_zip
from tests.spaces_support import make_user


async def fetch(web, path: str) -> bytes:
    async with web.session.get(web.base + path) as response:
        assert response.status == 200, path
        return await response.read()


async def test_budgets_are_exported_as_the_api_gives_them(web, app):
    space, component, _ = await budgets_component(app, ballot_kind="project_count")
    budget = await make_budget(app, component, total="300", title="North district")
    trees = await make_project(app, budget, "=Shade trees", "200")
    lanes = await make_project(app, budget, "Bike lanes", "150", category="Streets")
    user = await make_user(app, "amelie")
    async with app[DB].begin() as db:
        await check_and_store_ballot(db, await db.get(Budget, budget.id), user, {lanes.id: None},
                                     base_url=app[SETTINGS].base_url)

    export = json.loads(await fetch(web, f"/spaces/{space.slug}/export.json"))
    api = json.loads(await fetch(web, f"/api/budgets/{budget.id}"))
    assert export["budgets"] == [api]
    assert all("votes" not in p for p in api["projects"]) and "amelie" not in json.dumps(export)

    await set_settings(app, component, voting_enabled=False)
    export = json.loads(await fetch(web, f"/spaces/{space.slug}/export.json"))
    [item] = export["budgets"]
    assert item == json.loads(await fetch(web, f"/api/budgets/{budget.id}"))
    assert {p["id"]: p["votes"] for p in item["projects"]} == {trees.id: "0", lanes.id: "1"}

    tables = read_zip(await fetch(web, f"/spaces/{space.slug}/export.zip"))
    header, rows = tables["budgets"]
    assert "title/en" in header and "ballots_count" in header and "selected" not in header
    assert rows == [{column: flatten(item).get(column, "") for column in header}]
    assert rows[0]["ballots_count"] == "1" and rows[0]["total"] == "300"
    header, rows = tables["budget_projects"]
    assert header[0] == "budget_id" and "votes" in header and "title/en" in header
    assert [(r["budget_id"], r["title/en"], r["votes"], r["selected"]) for r in rows] == [
        (str(budget.id), "'=Shade trees", "0", "false"), (str(budget.id), "Bike lanes", "1", "true")]
