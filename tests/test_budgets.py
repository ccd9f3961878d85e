"""The budgets component: budgets and projects, the basket, the checkout with its receipt, the
ballot kinds and their limits, phases, and refusals that store nothing."""
from __future__ import annotations

import hashlib
import html
import json
import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from node.appkeys import DB
from node.components.budgets.models import Ballot
from node.components.registry import kinds
from tests.budgets_support import (ballots_of, basket, budget_path, budgets_component, checkout, make_budget,
                                   make_project, set_settings)
from tests.spaces_support import log_in


def canonical_of(page_text: str) -> str:
    return html.unescape(re.search(r'<pre id="canonical">(.*?)</pre>', page_text, re.S).group(1))


def receipt_of(page_text: str) -> str:
    return re.search(r'<code class="receipt" id="receipt">([0-9a-f]{64})</code>', page_text).group(1)


async def test_budgets_is_a_registered_component_kind():
    kind = kinds()["budgets"]
    assert kind.models_module == "node.components.budgets.models"
    assert ("vote", "vote in budgets") in kind.actions


async def test_a_budget_cap_ballot_from_basket_to_receipt(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component, total="100000")
    park = await make_project(app, budget, "A new park", "60000", category="Green", address="Rue Haute")
    bikes = await make_project(app, budget, "Bike racks", "30000")
    lights = await make_project(app, budget, "Street lights", "50000")
    user = await log_in(web, app, "amelie")
    page = await web.get(budget_path(space, component, budget))
    assert page.status == 200 and "A new park" in page.text and "Add to my basket" in page.text
    assert "Your basket is empty." in page.text

    added = await basket(web, space, component, budget, "add", park)
    assert added.status == 200 and "The project is in your basket." in added.text
    assert "€60,000.00 of €100,000.00 used" in added.text
    await basket(web, space, component, budget, "add", bikes)
    over = await basket(web, space, component, budget, "add", lights)
    assert over.status == 422 and "Your basket costs more than the budget" in over.text
    assert await ballots_of(app, budget) == [(user.id, False, None, {park.id: None, bikes.id: None})]

    removed = await basket(web, space, component, budget, "remove", bikes)
    assert "€60,000.00 of €100,000.00 used" in removed.text
    await basket(web, space, component, budget, "add", bikes)

    cast = await checkout(web, space, component, budget)
    assert cast.status == 200 and "Your ballot is cast" in cast.text
    canonical = canonical_of(cast.text)
    receipt = receipt_of(cast.text)
    assert hashlib.sha256(canonical.encode()).hexdigest() == receipt
    data = json.loads(canonical)
    assert data["choices"] == [{"project": park.id}, {"project": bikes.id}]
    assert data["budget"].endswith(budget_path(space, component, budget)) and len(data["salt"]) == 32
    [(_, checked_out, stored_receipt, items)] = await ballots_of(app, budget)
    assert checked_out and stored_receipt == receipt and items == {park.id: None, bikes.id: None}
    async with app[DB]() as db:  # the salt is shown once and kept nowhere
        row = await db.scalar(select(Ballot).where(Ballot.budget_id == budget.id))
    assert data["salt"] not in json.dumps([str(getattr(row, c.key)) for c in Ballot.__table__.columns])

    page = await web.get(budget_path(space, component, budget))
    assert "Your ballot is cast. It is final." in page.text and receipt in page.text
    assert "Add to my basket" not in page.text
    # Final: no second ballot, no change of this one.
    again = await web.post(budget_path(space, component, budget, "/checkout"),
                           {"project": str(park.id), f"cost_{park.id}": "60000"},
                           csrf_from_path=budget_path(space, component, budget))
    assert again.status == 409 and "You have already voted in this budget" in again.text
    change = await basket(web, space, component, budget, "remove", park)
    assert change.status == 409
    assert await ballots_of(app, budget) == [(user.id, True, receipt, {park.id: None, bikes.id: None})]


async def test_a_checkout_with_tampered_costs_or_projects_is_refused_and_stores_nothing(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component, total="100000")
    other = await make_budget(app, component, total="5000", title="Another budget")
    park = await make_project(app, budget, "A new park", "60000")
    bikes = await make_project(app, budget, "Bike racks", "30000")
    elsewhere = await make_project(app, other, "Elsewhere", "100")
    user = await log_in(web, app, "amelie")
    await basket(web, space, component, budget, "add", park)

    def cheaper(fields):
        fields[f"cost_{park.id}"] = ["1"]

    cost = await checkout(web, space, component, budget, cheaper)
    assert cost.status == 422 and "The cost of a project you confirmed is not its cost" in cost.text

    def more(fields):
        fields["project"].append(str(bikes.id))
        fields[f"cost_{bikes.id}"] = ["30000"]

    extra = await checkout(web, space, component, budget, more)
    assert extra.status == 409 and "What you confirmed is not what your basket holds" in extra.text

    def foreign(fields):
        fields["project"] = [str(elsewhere.id)]
        fields[f"cost_{elsewhere.id}"] = ["100"]

    alien = await checkout(web, space, component, budget, foreign)
    assert alien.status == 422 and "This project is not in this budget" in alien.text

    def garbage(fields):
        fields["project"] = ["'; DROP TABLE budgets; --"]

    bad = await checkout(web, space, component, budget, garbage)
    assert bad.status == 422
    add_alien = await basket(web, space, component, budget, "add", elsewhere)
    assert add_alien.status == 422 and "This project is not in this budget" in add_alien.text
    unknown = await basket(web, space, component, budget, "dance", park)
    assert unknown.status == 400
    assert await ballots_of(app, budget) == [(user.id, False, None, {park.id: None})]
    assert await ballots_of(app, other) == []
    # The honest confirmation still works afterwards.
    assert (await checkout(web, space, component, budget)).status == 200


async def test_the_cost_of_a_voted_project_cannot_change(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component)
    park = await make_project(app, budget, "A new park", "60000")
    await log_in(web, app, "amelie")
    await basket(web, space, component, budget, "add", park)
    assert (await checkout(web, space, component, budget)).status == 200
    await log_in(web, app, "alice_admin", role="admin")
    path = f"/admin/spaces/{space.id}/components/{component.id}/budgets/{budget.id}/projects/{park.id}"
    form = {"title.en": "A new park", "cost": "1000", "feasibility": "feasible"}
    refused = await web.post(path, form, csrf_from_path=path)
    assert refused.status == 422 and "its cost can no longer change" in refused.text
    renamed = await web.post(path, {**form, "cost": "60000.00", "title.en": "A bigger park"}, csrf_from_path=path)
    assert renamed.status == 200 and "Your changes were saved." in renamed.text


async def test_project_count_ballots_need_between_min_and_max_projects(web, app):
    space, component, _ = await budgets_component(app, ballot_kind="project_count", min_projects=2, max_projects=3)
    budget = await make_budget(app, component, total="1000")
    projects = [await make_project(app, budget, f"Project {n}", "900") for n in range(4)]
    user = await log_in(web, app, "amelie")
    await basket(web, space, component, budget, "add", projects[0])
    review = await web.get(budget_path(space, component, budget, "/checkout"))
    assert review.status == 422 and "Choose at least 2 projects before casting your ballot." in review.text
    assert "Cast my ballot" not in review.text
    forced = await web.post(budget_path(space, component, budget, "/checkout"),
                            {"project": str(projects[0].id), f"cost_{projects[0].id}": "900"},
                            csrf_from_path=budget_path(space, component, budget))
    assert forced.status == 422 and "Choose at least 2 projects" in forced.text
    for project in projects[1:3]:  # no budget cap: 2,700 of 1,000 is allowed
        assert (await basket(web, space, component, budget, "add", project)).status == 200
    too_many = await basket(web, space, component, budget, "add", projects[3])
    assert too_many.status == 422 and "You can choose at most 3 projects." in too_many.text
    assert (await checkout(web, space, component, budget)).status == 200
    assert await ballots_of(app, budget) == [(user.id, True, (await ballots_of(app, budget))[0][2],
                                              {p.id: None for p in projects[:3]})]


async def test_cumulative_ballots_share_points(web, app):
    space, component, _ = await budgets_component(app, ballot_kind="cumulative", points=10)
    budget = await make_budget(app, component, total="1000")
    a = await make_project(app, budget, "Project A", "500")
    b = await make_project(app, budget, "Project B", "800")
    await log_in(web, app, "amelie")
    await basket(web, space, component, budget, "add", a)
    page = await basket(web, space, component, budget, "add", b)
    assert "2 of 10 points given" in page.text and f'name="points_{a.id}"' in page.text
    over = await basket(web, space, component, budget, "points", **{f"points_{a.id}": "8", f"points_{b.id}": "3"})
    assert over.status == 422 and "You can give 10 points in all; your basket gives 11." in over.text
    negative = await basket(web, space, component, budget, "points", **{f"points_{a.id}": "-1"})
    assert negative.status == 422
    saved = await basket(web, space, component, budget, "points", **{f"points_{a.id}": "7", f"points_{b.id}": "3"})
    assert saved.status == 200 and "10 of 10 points given" in saved.text

    def inflate(fields):
        fields[f"points_{a.id}"] = ["9"]

    tampered = await checkout(web, space, component, budget, inflate)
    assert tampered.status == 409
    cast = await checkout(web, space, component, budget)
    assert cast.status == 200
    assert json.loads(canonical_of(cast.text))["choices"] == [{"project": a.id, "points": 7},
                                                              {"project": b.id, "points": 3}]


async def test_choose_one_keeps_one_project(web, app):
    space, component, _ = await budgets_component(app, ballot_kind="choose_one")
    budget = await make_budget(app, component, total="1000")
    a = await make_project(app, budget, "Project A", "500")
    b = await make_project(app, budget, "Project B", "800")
    user = await log_in(web, app, "amelie")
    await basket(web, space, component, budget, "add", a)
    page = await basket(web, space, component, budget, "add", b)
    assert "1 project chosen" in page.text
    assert await ballots_of(app, budget) == [(user.id, False, None, {b.id: None})]

    def both(fields):
        fields["project"].append(str(a.id))
        fields[f"cost_{a.id}"] = ["500"]

    assert (await checkout(web, space, component, budget, both)).status == 409
    assert (await checkout(web, space, component, budget)).status == 200


async def test_an_empty_basket_and_unfeasible_projects_are_refused(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component)
    a = await make_project(app, budget, "Project A", "500")
    no = await make_project(app, budget, "A bridge to the moon", "500", feasibility="unfeasible",
                            feasibility_reason="Out of the town's remit.")
    await log_in(web, app, "amelie")
    page = await web.get(budget_path(space, component, budget))
    assert "Out of the town&#39;s remit." in page.text
    assert 'aria-label="Add “A bridge to the moon” to my basket"' not in page.text
    refused = await basket(web, space, component, budget, "add", no)
    assert refused.status == 422 and "found unfeasible" in refused.text
    empty = await web.post(budget_path(space, component, budget, "/checkout"), {},
                           csrf_from_path=budget_path(space, component, budget))
    assert empty.status == 422 and "Your basket is empty" in empty.text
    assert await ballots_of(app, budget) == []
    await basket(web, space, component, budget, "add", a)
    assert (await checkout(web, space, component, budget)).status == 200


async def test_voting_follows_the_phases_and_results_wait_for_its_end(web, app):
    space, component, phases = await budgets_component(app, phases=3)
    budget = await make_budget(app, component)
    a = await make_project(app, budget, "Project A", "500")
    await set_settings(app, component, voting_phases=[phases[1].id], results_phases=[phases[2].id])
    user = await log_in(web, app, "amelie")
    page = await web.get(budget_path(space, component, budget))
    assert "Voting is not open in the current phase." in page.text and "Add to my basket" not in page.text
    closed = await basket(web, space, component, budget, "add", a)
    assert closed.status == 403 and "Voting is not open in the current phase" in closed.text
    early = await web.post(budget_path(space, component, budget, "/checkout"),
                           {"project": str(a.id), f"cost_{a.id}": "500"}, csrf_from_path=budget_path(space, component, budget))
    assert early.status == 403 and await ballots_of(app, budget) == []
    results = await web.get(budget_path(space, component, budget, "/results"))
    assert results.status == 403 and "published once voting has ended" in results.text

    from node.spaces.service import activate_phase
    async with app[DB].begin() as db:
        await activate_phase(db, space.id, phases[1].id)
    assert (await basket(web, space, component, budget, "add", a)).status == 200
    assert (await checkout(web, space, component, budget)).status == 200
    for suffix in ("/results", "/ballots", "/ballots.json", "/results.json", "/export.pb"):
        assert (await web.get(budget_path(space, component, budget, suffix))).status == 403, suffix

    async with app[DB].begin() as db:
        await activate_phase(db, space.id, phases[2].id)
    results = await web.get(budget_path(space, component, budget, "/results"))
    assert results.status == 200 and "Project A" in results.text and "Yes (1)" in results.text
    assert (await basket(web, space, component, budget, "add", a)).status == 403
    assert len(await ballots_of(app, budget)) == 1 and (await ballots_of(app, budget))[0][0] == user.id


async def test_results_also_show_after_the_voting_phases_without_a_results_phase(web, app):
    space, component, phases = await budgets_component(app, phases=3)
    budget = await make_budget(app, component)
    await make_project(app, budget, "Project A", "500")
    await set_settings(app, component, voting_phases=[phases[0].id])
    assert (await web.get(budget_path(space, component, budget, "/results"))).status == 403
    from node.spaces.service import activate_phase
    async with app[DB].begin() as db:
        await activate_phase(db, space.id, phases[1].id)
    assert (await web.get(budget_path(space, component, budget, "/results"))).status == 200
    # Without phases: results once an administrator closes voting.
    space2, component2, _ = await budgets_component(app, slug="no-phases")
    budget2 = await make_budget(app, component2)
    assert (await web.get(budget_path(space2, component2, budget2, "/results"))).status == 403
    await set_settings(app, component2, voting_enabled=False)
    assert (await web.get(budget_path(space2, component2, budget2, "/results"))).status == 200


async def test_one_ballot_per_person_and_budget_is_a_database_constraint(app, server):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component)
    from tests.spaces_support import make_user
    user = await make_user(app, "amelie")
    async with app[DB].begin() as db:
        db.add(Ballot(budget_id=budget.id, user_id=user.id))
    with pytest.raises(IntegrityError):
        async with app[DB].begin() as db:
            db.add(Ballot(budget_id=budget.id, user_id=user.id))


async def test_the_demo_budget_can_be_voted_in(web, app):
    from node.components.budgets.models import Budget
    from node.demo import seed_demo
    from node.spaces.models import Component
    from tests.test_demo import seeded_with

    await seeded_with(app, seed_demo)
    async with app[DB]() as db:
        component = await db.scalar(select(Component).where(Component.kind == "budgets"))
        budget = await db.scalar(select(Budget))
    listing = await web.get(f"/spaces/budget-participatif-2027/c/{component.id}", headers={"Accept-Language": "en"})
    assert listing.status == 200 and "Town Centre district" in listing.text
    assert (await web.login("jordi", "demo-jordi-2027")).status == 200
    space = type("S", (), {"slug": "budget-participatif-2027"})
    page = await web.get(budget_path(space, component, budget))
    assert "Son coût dépasse l&#39;enveloppe" in page.text and page.text.count('name="action" value="add"') == 5
    async with app[DB]() as db:
        from node.components.budgets.models import BudgetProject
        garden = await db.scalar(select(BudgetProject).where(BudgetProject.cost == "65000"))
    assert (await basket(web, space, component, budget, "add", garden)).status == 200
    assert (await checkout(web, space, component, budget)).status == 200
