"""Results, public ballots and who may vote: the explanation of each project's fate for greedy
and the Method of Equal Shares, ballots without identities (HTML and JSON) that recount to the
published results, the entry point of ballots from partner nodes, permissions and postal codes."""
from __future__ import annotations

import json

from node.appkeys import DB, SETTINGS
from node.cohosting.models import RemoteParticipant
from node.components.budgets import pabulib, rules
from node.components.budgets.models import Budget
from node.components.budgets.service import BudgetError, change_basket, check_and_store_ballot
from tests.budgets_support import (ballots_of, basket, budget_path, budgets_component, checkout, make_budget,
                                   make_project, set_settings)
from tests.permissions_support import CENSUS_ONLY, grant
from tests.spaces_support import log_in, make_user

import pytest


async def election(app):
    """Three voters: a and b approve projects 1 and 3, c approves 2 and 3 (budget 300). Greedy
    takes 3 then 2; MES (add1) takes 3 only, each voter paying 50."""
    space, component, _ = await budgets_component(app, rule="equalshares/add1", ballot_kind="project_count")
    budget = await make_budget(app, component, total="300")
    p1 = await make_project(app, budget, "Project one", "200")
    p2 = await make_project(app, budget, "Project two", "100")
    p3 = await make_project(app, budget, "Project three", "150")
    casts = []
    for name, choice in (("ana", (p1, p3)), ("bernat", (p1, p3)), ("carla", (p2, p3))):
        user = await make_user(app, name)
        async with app[DB].begin() as db:
            casts.append(await check_and_store_ballot(db, await db.get(Budget, budget.id), user,
                                                      {p.id: None for p in choice}, base_url=app[SETTINGS].base_url))
    await set_settings(app, component, voting_enabled=False)
    return space, component, budget, (p1, p2, p3), casts


async def test_equal_shares_results_explain_what_each_voter_paid(web, app):
    space, component, budget, (p1, p2, p3), casts = await election(app)
    page = await web.get(budget_path(space, component, budget, "/results"))
    assert page.status == 200
    assert "3 ballots counted." in page.text and "1 project selected, costing €150.00 of the €300.00 budget." in page.text
    assert "Method of Equal Shares" in page.text and "Each voter's share of the budget: €149.00." in page.text
    assert "Selected: its 3 supporters paid its cost (€150.00) from their equal shares of the budget." in page.text
    assert "3 voters paid €50.00 each" in page.text
    assert "Not selected: its supporters had only €198.00 left of their shares, less than its cost (€200.00)." in page.text
    assert "Not selected: its supporters had only €99.00 left" in page.text
    data = json.loads((await web.get(budget_path(space, component, budget, "/results.json"))).text)
    assert data["rule"] == "equalshares/add1" and data["selected"] == [str(p3.id)]
    three = next(p for p in data["projects"] if p["id"] == str(p3.id))
    assert three["payments"] == {cast.ballot.receipt: "50" for cast in casts}
    assert data["details"]["voter_budget"] == "149"


async def test_greedy_and_comparison_results(web, app):
    space, component, budget, (p1, p2, p3), _ = await election(app)
    await set_settings(app, component, rule="greedy")
    page = await web.get(budget_path(space, component, budget, "/results"))
    assert "2 projects selected, costing €250.00 of the €300.00 budget." in page.text
    assert "Not selected: its cost (€200.00) is more than the €150.00 left when its turn came." in page.text
    assert "Selected: its cost (€100.00) fitted in the €150.00 left when its turn came." in page.text
    await set_settings(app, component, rule="equalshares/add1-comparison")
    page = await web.get(budget_path(space, component, budget, "/results"))
    assert "1 voters prefer the greedy outcome and 0 the Method of Equal Shares one, so the greedy outcome is kept." in page.text
    data = json.loads((await web.get(budget_path(space, component, budget, "/results.json"))).text)
    assert data["selected"] == [str(p3.id), str(p2.id)] and data["details"]["kept"] == "greedy"


async def test_the_public_ballots_recount_to_the_published_results(web, app):
    space, component, budget, projects, casts = await election(app)
    page = await web.get(budget_path(space, component, budget, "/ballots"))
    assert page.status == 200 and "3 ballots" in page.text
    for cast in casts:
        assert cast.ballot.receipt in page.text
    for name in ("ana", "bernat", "carla", "Ana"):
        assert name not in page.text
    found = await web.get(budget_path(space, component, budget, f"/ballots?receipt={casts[1].ballot.receipt[:10]}"))
    assert "1 ballot" in found.text and casts[1].ballot.receipt in found.text and casts[0].ballot.receipt not in found.text
    short = await web.get(budget_path(space, component, budget, f"/ballots?receipt={casts[1].ballot.receipt[:4]}"))
    assert "No ballot has a receipt starting with these characters." in short.text

    listed = json.loads((await web.get(budget_path(space, component, budget, "/ballots.json"))).text)
    assert listed["ballots_count"] == 3 and "ana" not in json.dumps(listed)
    assert [b["receipt"] for b in listed["ballots"]] == sorted(c.ballot.receipt for c in casts)
    # Anyone can recount: the JSON alone, through the rules, gives the published outcome.
    keys = {p["id"]: p["pabulib_id"] for p in listed["projects"]}
    recount = pabulib.Election(
        {"budget": "300", "vote_type": "approval"},
        {p["pabulib_id"]: pabulib.Project(p["pabulib_id"], pabulib.parse_number(p["cost"], "cost"))
         for p in listed["projects"]},
        [pabulib.Vote(b["receipt"], tuple(keys[c["project"]] for c in b["choices"])) for b in listed["ballots"]])
    published = json.loads((await web.get(budget_path(space, component, budget, "/results.json"))).text)
    assert rules.outcome(recount, "equalshares/add1").selected == published["selected"]
    # A voter's canonical JSON names the choices the list shows under the receipt.
    for cast in casts:
        entry = next(b for b in listed["ballots"] if b["receipt"] == cast.ballot.receipt)
        assert json.loads(cast.canonical)["choices"] == entry["choices"]


async def test_a_partner_nodes_resident_votes_through_check_and_store_ballot(app, server):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component, total="1000")
    a = await make_project(app, budget, "Project A", "500")
    async with app[DB].begin() as db:
        voter = RemoteParticipant(actor_uri="https://town.example/users/joan", home_node_uri="https://town.example/actor",
                                  home_host="town.example")
        db.add(voter)
        await db.flush()
        cast = await check_and_store_ballot(db, await db.get(Budget, budget.id), voter, {a.id: None},
                                            base_url="https://city.example")
    assert json.loads(cast.canonical)["budget"] == f"https://city.example{budget_path(space, component, budget)}"
    with pytest.raises(BudgetError) as twice:
        async with app[DB].begin() as db:
            await check_and_store_ballot(db, await db.get(Budget, budget.id), voter, {a.id: None},
                                         base_url="https://city.example")
    assert twice.value.status == 409
    with pytest.raises(BudgetError) as over:
        async with app[DB].begin() as db:
            other = RemoteParticipant(actor_uri="https://town.example/users/pau", home_node_uri="https://town.example/actor",
                                      home_host="town.example")
            db.add(other)
            await db.flush()
            b = await make_project_in(db, budget, "Project B", "600")
            await check_and_store_ballot(db, await db.get(Budget, budget.id), other, {a.id: None, b.id: None},
                                         base_url="https://city.example")
    assert over.value.status == 422
    rows = await ballots_of(app, budget)
    assert len(rows) == 1 and rows[0][1]


async def make_project_in(db, budget, title, cost):
    from node.components.budgets.service import create_project
    return await create_project(db, await db.get(Budget, budget.id), {"title": {"en": title}, "cost": cost,
                                                                      "feasibility": "feasible"}, language="en")


async def test_the_vote_permission_and_the_budgets_postal_codes(web, app):
    space, component, _ = await budgets_component(app, permissions={"vote": CENSUS_ONLY})
    budget = await make_budget(app, component, total="1000", postal_codes="08001, 08002")
    a = await make_project(app, budget, "Project A", "500")
    listing = await web.get(f"/spaces/{space.slug}/c/{component.id}")
    assert "To vote in budgets you need:" in listing.text
    user = await log_in(web, app, "amelie")
    page = await web.get(budget_path(space, component, budget))
    assert "you need this verification" in page.text and "Add to my basket" not in page.text
    refused = await basket(web, space, component, budget, "add", a)
    assert refused.status == 403 and await ballots_of(app, budget) == []
    await grant(app, user, postal_code="17001")
    refused = await basket(web, space, component, budget, "add", a)
    assert refused.status == 403 and "Only residents of these postal codes may vote in this budget: 08001, 08002." in refused.text
    assert await ballots_of(app, budget) == []
    await grant(app, user, postal_code="08002")
    assert (await basket(web, space, component, budget, "add", a)).status == 200
    assert (await checkout(web, space, component, budget)).status == 200


async def test_anonymous_visitors_are_sent_to_log_in(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component, total="1000")
    a = await make_project(app, budget, "Project A", "500")
    page = await web.get(budget_path(space, component, budget))
    assert "Log in to vote" in page.text
    sent = await web.post(budget_path(space, component, budget, "/basket"), {"action": "add", "project": str(a.id)},
                          csrf_from_path=budget_path(space, component, budget), allow_redirects=False)
    assert sent.status == 303 and "/login" in sent.headers["Location"]


async def test_concurrent_checkouts_of_one_basket_cast_one_ballot(app, server):
    import asyncio

    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component, total="1000")
    a = await make_project(app, budget, "Project A", "500")
    user = await make_user(app, "amelie")
    async with app[DB].begin() as db:
        await change_basket(db, await db.get(Budget, budget.id), user, add=a.id)

    async def cast():
        try:
            async with app[DB].begin() as db:
                await check_and_store_ballot(db, await db.get(Budget, budget.id), user, {a.id: None},
                                             base_url="https://city.example")
            return "cast"
        except BudgetError as exc:
            return exc.status

    outcomes = await asyncio.gather(*(cast() for _ in range(5)))
    assert sorted(outcomes, key=str) == sorted(["cast", 409, 409, 409, 409], key=str)
    rows = await ballots_of(app, budget)
    assert len(rows) == 1 and rows[0][1]
