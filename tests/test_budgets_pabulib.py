"""Pabulib files through the node: an administrator imports a .pb file as a budget with its
projects and anonymous ballots, any budget exports as a .pb file (an imported one exactly as it
came in), a malformed file is refused naming its line, and the results page of an imported
real election shows its official outcome."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from node.appkeys import DB, SETTINGS
from node.components.budgets import pabulib
from node.components.budgets.exchange import import_pb
from node.components.budgets.models import Ballot, BallotItem, Budget, BudgetProject
from node.components.budgets.service import BudgetError, check_and_store_ballot
from node.spaces.models import Component
from tests.budgets_support import budget_path, budgets_component, count_budgets, make_budget, make_project
from tests.helpers import csrf_from
from tests.spaces_support import log_in, make_user

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pabulib"
KEPT = Path(__file__).resolve().parent / "data" / "pabulib"


def data_file(name: str) -> Path:
    return SHARED / name if (SHARED / name).is_file() else KEPT / name


# One file per vote type (approval, cumulative, ordinal, choose-1), and an unknown META rule.
ROUND_TRIP = ["France_Toulouse_2022_6_-_Saint-Cyprien.pb", "Poland_Czestochowa_2024_Bleszno.pb",
              "Netherlands_Assen_2024.pb"] + [
    name for name in ("Poland_Krakow_2024_Zwierzyniec.pb", "Poland_Wroclaw_2017_Rejon_nr_8_250.pb",
                      "Switzerland_Zurich_S5R.pb") if (SHARED / name).is_file()]
# Elections with an official outcome (the `selected` column): MES add1, greedy on points.
OFFICIAL = ["Netherlands_Assen_2024.pb", "Poland_Czestochowa_2024_Bleszno.pb"] + [
    name for name in ("Poland_Katowice_2021_Murcki.pb", "Poland_Wroclaw_2017_Rejon_nr_8_250.pb")
    if (SHARED / name).is_file()]


async def upload(web, space, component, content: bytes, filename: str = "election.pb"):
    admin_path = f"/admin/spaces/{space.id}/components/{component.id}/budgets"
    form = FormData()
    form.add_field("_csrf", csrf_from((await web.get(admin_path)).text))
    form.add_field("file", content, filename=filename, content_type="application/octet-stream")
    async with web.session.post(web.base + admin_path + "/import", data=form) as response:
        return await web._page(response)


async def imported(app, name: str):
    space, component, _ = await budgets_component(app, slug="pabulib")
    async with app[DB].begin() as db:
        budget = await import_pb(db, await db.get(Component, component.id), data_file(name).read_bytes(),
                                 language="en")
    return space, component, budget


async def test_an_administrator_imports_a_pb_file(web, app):
    space, component, _ = await budgets_component(app)
    await log_in(web, app, "alice_admin", role="admin")
    source = data_file("France_Toulouse_2022_6_-_Saint-Cyprien.pb")
    page = await upload(web, space, component, source.read_bytes(), source.name)
    assert page.status == 200 and "Created." in page.text and "Toulouse 6 - Saint-Cyprien 2022" in page.text
    assert "Aire de jeux pour enfants" in page.text
    async with app[DB]() as db:
        budget = await db.scalar(select(Budget))
        ballots = await db.scalar(select(func.count()).select_from(Ballot).where(Ballot.budget_id == budget.id))
        anonymous = await db.scalar(select(func.count()).select_from(Ballot).where(
            Ballot.user_id.is_(None), Ballot.participant_id.is_(None), Ballot.source_voter_id.is_not(None),
            Ballot.checked_out_at.is_not(None)))
        projects = await db.scalar(select(func.count()).select_from(BudgetProject))
    assert (budget.total, budget.currency, budget.imported) == (400000, "EUR", True)
    assert (projects, ballots, anonymous) == (10, 436, 436)
    # A record of a past vote: shown with its results, and closed to new ballots.
    public = await web.get(budget_path(space, component, budget))
    assert "record of a past vote" in public.text and "Add to my basket" not in public.text
    assert (await web.get(budget_path(space, component, budget, "/results"))).status == 200
    checkout = await web.post(budget_path(space, component, budget, "/checkout"), {"project": "1"},
                              csrf_from_path=budget_path(space, component, budget))
    assert checkout.status == 409 and "takes no new ballots" in checkout.text


@pytest.mark.parametrize("name", ROUND_TRIP)
async def test_an_imported_file_exports_as_the_same_election(web, app, name):
    space, component, budget = await imported(app, name)
    exported = await web.get(budget_path(space, component, budget, "/export.pb"))
    assert exported.status == 200 and exported.headers["Content-Disposition"].endswith('.pb"')
    original = pabulib.load(data_file(name))
    assert exported.text == pabulib.write(original)
    back = pabulib.parse(exported.text)
    assert back.meta == original.meta and back.projects == original.projects and back.votes == original.votes


async def test_a_malformed_file_is_refused_naming_its_line_and_nothing_is_stored(web, app):
    space, component, _ = await budgets_component(app)
    await log_in(web, app, "alice_admin", role="admin")
    text = data_file("France_Toulouse_2022_6_-_Saint-Cyprien.pb").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    whole = list(lines)
    votes_at = next(i for i, line in enumerate(lines) if line.startswith("VOTES"))
    broken = lines[votes_at + 2].split(";")
    lines[votes_at + 2] = broken[0] + ";999," + broken[1]  # a vote for a project that is not there
    page = await upload(web, space, component, "".join(lines).encode())
    assert page.status == 422
    assert f"line {votes_at + 3}, VOTES" in html.unescape(page.text) and "which is not in PROJECTS" in page.text
    not_text = await upload(web, space, component, b"\xff\xfe META")
    assert not_text.status == 422 and "not UTF-8 text" in not_text.text
    truncated = await upload(web, space, component, "".join(whole[:votes_at + 5]).encode())
    assert truncated.status == 422 and "num_votes" in truncated.text
    admin_path = f"/admin/spaces/{space.id}/components/{component.id}/budgets"
    no_file = await web.post(admin_path + "/import", {}, csrf_from_path=admin_path)
    assert no_file.status == 422 and "Choose a .pb file to upload." in no_file.text
    assert await count_budgets(app) == 0
    async with app[DB]() as db:
        for model in (BudgetProject, Ballot, BallotItem):
            assert await db.scalar(select(func.count()).select_from(model)) == 0


@pytest.mark.parametrize("name", OFFICIAL)
async def test_the_results_page_of_an_imported_election_shows_its_official_outcome(web, app, name):
    space, component, budget = await imported(app, name)
    election = pabulib.load(data_file(name))
    official = {p.id for p in election.projects.values() if p.fields["selected"] == "1"}
    data = json.loads((await web.get(budget_path(space, component, budget, "/results.json"))).text)
    assert data["rule"] == election.rule and set(data["selected"]) == official
    page = await web.get(budget_path(space, component, budget, "/results"))
    assert page.status == 200
    shown = {html.unescape(title) for title in re.findall(r'<tr class="selected">\s*<th scope="row">(.*?)</th>', page.text)}
    assert shown == {election.projects[p].fields["name"] for p in official}
    assert f"{len(election.votes)} ballots counted." in page.text


async def test_a_budget_voted_here_exports_its_ballots_by_receipt(web, app):
    space, component, _ = await budgets_component(app, ballot_kind="cumulative", points=5, rule="equalshares/add1")
    budget = await make_budget(app, component, total="1000.50", title="Parks")
    a = await make_project(app, budget, "Trees", "600", category="Green")
    b = await make_project(app, budget, "Benches", "400.50")
    no = await make_project(app, budget, "Moon", "1", feasibility="unfeasible", feasibility_reason="No.")
    receipts = []
    for name, choices in (("ana", {a.id: 3, b.id: 2}), ("bernat", {b.id: 5})):
        user = await make_user(app, name)
        async with app[DB].begin() as db:
            cast = await check_and_store_ballot(db, await db.get(Budget, budget.id), user, choices,
                                                base_url=app[SETTINGS].base_url)
            receipts.append(cast.ballot.receipt)
    await log_in(web, app, "alice_admin", role="admin")  # voting is open: administrators only
    exported = await web.get(budget_path(space, component, budget, "/export.pb"))
    election = pabulib.parse(exported.text)
    assert (election.meta["vote_type"], election.meta["rule"], election.meta["budget"]) == (
        "cumulative", "equalshares/add1", "1000.5")
    assert (election.meta["num_projects"], election.meta["num_votes"], election.meta["max_sum_points"]) == ("2", "2", "5")
    assert {p.id: (p.cost, p.fields["name"]) for p in election.projects.values()} == {
        str(a.id): (600, "Trees"), str(b.id): (pabulib.parse_number("400.50", "cost"), "Benches")}
    assert str(no.id) not in election.projects
    assert {v.voter_id: dict(zip(v.projects, v.points)) for v in election.votes} == {
        receipts[0]: {str(a.id): 3, str(b.id): 2}, receipts[1]: {str(b.id): 5}}


async def test_an_import_with_an_unusable_number_is_refused(app, server):
    space, component, _ = await budgets_component(app)
    text = "META\nkey;value\nbudget;0\nvote_type;approval\nPROJECTS\nproject_id;cost\n1;10\nVOTES\nvoter_id;vote\nv;1\n"
    with pytest.raises(BudgetError) as refused:
        async with app[DB].begin() as db:
            await import_pb(db, await db.get(Component, component.id), text.encode(), language="en")
    assert "budget must be above 0" in str(refused.value)
    assert await count_budgets(app) == 0
