"""Budgets in the public JSON API: listed per space, one with its projects, votes and selected
projects only once the results are published; documented in the OpenAPI document."""
from __future__ import annotations

import json

from openapi_spec_validator import validate

from node.appkeys import DB, SETTINGS
from node.components.budgets.models import Budget
from node.components.budgets.service import check_and_store_ballot
from tests.budgets_support import budgets_component, make_budget, make_project, set_settings
from tests.spaces_support import make_user


async def test_the_openapi_document_describes_the_budgets_endpoints(web):
    document = json.loads((await web.get("/api/openapi.json")).text)
    validate(document)
    assert {"/api/spaces/{slug}/budgets", "/api/budgets/{id}"} <= set(document["paths"])
    schemas = document["components"]["schemas"]
    assert {"Budget", "BudgetProject", "BudgetWithProjects"} <= set(schemas)
    assert "votes" in schemas["BudgetProject"]["properties"]


async def test_budgets_and_projects_with_votes_only_once_results_are_published(web, app):
    space, component, _ = await budgets_component(app, ballot_kind="project_count")
    budget = await make_budget(app, component, total="300", title="North district")
    trees = await make_project(app, budget, "Shade trees", "200", category="Green")
    lanes = await make_project(app, budget, "Bike lanes", "150")
    for name, choice in (("ana", (trees, lanes)), ("bernat", (lanes,))):
        user = await make_user(app, name)
        async with app[DB].begin() as db:
            await check_and_store_ballot(db, await db.get(Budget, budget.id), user, {p.id: None for p in choice},
                                         base_url=app[SETTINGS].base_url)

    listed = json.loads((await web.get(f"/api/spaces/{space.slug}/budgets")).text)
    assert listed["total"] == 1
    [item] = listed["items"]
    assert item["id"] == budget.id and item["title"] == {"en": "North district"} and item["total"] == "300"
    assert item["voting_open"] and not item["results_published"] and item["projects_count"] == 2
    assert "ballots_count" not in item and "selected" not in item
    one = json.loads((await web.get(f"/api/budgets/{budget.id}")).text)
    assert [p["title"]["en"] for p in one["projects"]] == ["Shade trees", "Bike lanes"]
    assert one["projects"][0]["cost"] == "200" and one["projects"][0]["category"] == "Green"
    assert all("votes" not in p and "selected" not in p for p in one["projects"])
    assert "ana" not in json.dumps(one)

    await set_settings(app, component, voting_enabled=False)
    one = json.loads((await web.get(f"/api/budgets/{budget.id}")).text)
    assert one["results_published"] and one["ballots_count"] == 2 and one["selected"] == [lanes.id]
    assert {p["id"]: (p["votes"], p["selected"]) for p in one["projects"]} == {
        trees.id: ("1", False), lanes.id: ("2", True)}
    listed = json.loads((await web.get(f"/api/spaces/{space.slug}/budgets")).text)
    assert listed["items"][0]["ballots_count"] == 2


async def test_unknown_or_unpublished_budgets_are_404_with_a_message(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component)
    for path in ("/api/budgets/abc", "/api/budgets/0", "/api/budgets/99999999999", f"/api/budgets/{budget.id + 1}",
                 "/api/spaces/nowhere/budgets"):
        page = await web.get(path)
        assert page.status == 404, path
        assert "No published" in json.loads(page.text)["message"]
    async with app[DB].begin() as db:
        from node.spaces.models import Component
        (await db.get(Component, component.id)).published = False
    assert (await web.get(f"/api/budgets/{budget.id}")).status == 404
    assert json.loads((await web.get(f"/api/spaces/{space.slug}/budgets")).text)["total"] == 0
    bad = await web.get(f"/api/spaces/{space.slug}/budgets?per_page=500")
    assert bad.status == 400
