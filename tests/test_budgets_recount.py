"""`civicnode recount` of budgets: each budget of the space is counted again from its public
ballot list with its rule and compared with the published results; nothing to compare before the
results are published; a count altered on the host, or a counted ballot missing from the public
list, is caught with the budget's and the project's names."""
from __future__ import annotations

from sqlalchemy import delete, select

from node.appkeys import DB, SETTINGS
from node.cohosting.recount_command import run_recount
from node.components.budgets.models import Ballot, BallotItem, Budget
from node.components.budgets.service import check_and_store_ballot
from tests.budgets_support import budget_path, budgets_component, make_budget, make_project, set_settings
from tests.spaces_support import make_user


async def voted(app, rule="equalshares/add1"):
    """Four voters in a budget of 300: ana, bernat and dolors choose One and Three, carla Two
    and Three."""
    space, component, _ = await budgets_component(app, rule=rule, ballot_kind="project_count")
    budget = await make_budget(app, component, total="300", title="North district")
    p1 = await make_project(app, budget, "Project one", "200")
    p2 = await make_project(app, budget, "Project two", "100")
    p3 = await make_project(app, budget, "Project three", "150")
    for name, choice in (("ana", (p1, p3)), ("bernat", (p1, p3)), ("carla", (p2, p3)), ("dolors", (p1, p3))):
        user = await make_user(app, name)
        async with app[DB].begin() as db:
            await check_and_store_ballot(db, await db.get(Budget, budget.id), user, {p.id: None for p in choice},
                                         base_url=app[SETTINGS].base_url)
    return space, component, budget, (p1, p2, p3)


def space_url(app, space) -> str:
    return f"{app[SETTINGS].base_url}/spaces/{space.slug}"


async def test_an_honest_host_recounts_ok_once_results_are_published(app, server, capsys):
    space, component, budget, _ = await voted(app)
    assert await run_recount(space_url(app, space), allow_private=True) == 0
    out = capsys.readouterr().out
    assert "budget “North district”" in out and "results not published yet" in out and "nothing to compare" in out

    await set_settings(app, component, voting_enabled=False)
    assert await run_recount(space_url(app, space), allow_private=True) == 0
    out = capsys.readouterr().out
    assert "budget “North district”" in out and "OK, 4 public ballots recounted" in out
    assert "selected: project “Project three”" in out and "MISMATCH" not in out

    await set_settings(app, component, rule="greedy")
    assert await run_recount(space_url(app, space), allow_private=True, as_json=True) == 0
    import json
    [found] = json.loads(capsys.readouterr().out)["budgets"]
    assert found["ok"] and found["ballots"] == 4 and len(found["selected"]) == 2


async def test_a_vote_count_altered_on_the_host_is_caught_naming_the_project(app, server, web, capsys):
    space, component, budget, (p1, p2, p3) = await voted(app, rule="greedy")
    await set_settings(app, component, voting_enabled=False)
    published = await web.get(budget_path(space, component, budget, "/results.json"))
    assert published.status == 200
    # Someone with access to the database takes Project one out of a ballot: the published
    # results (kept by the node) still count it, the public ballot list no longer does.
    async with app[DB].begin() as db:
        ballot_id = await db.scalar(select(BallotItem.ballot_id).where(BallotItem.project_id == p1.id).limit(1))
        await db.execute(delete(BallotItem).where(BallotItem.ballot_id == ballot_id, BallotItem.project_id == p1.id))
    assert await run_recount(space_url(app, space), allow_private=True) == 1
    out = capsys.readouterr().out
    assert "budget “North district”" in out and "MISMATCH" in out
    assert f"project “Project one” ({p1.id}): the host publishes 3 votes or points, the public ballots give 2" in out


async def test_a_counted_ballot_missing_from_the_public_list_is_caught(app, server, web, capsys, monkeypatch):
    space, component, budget, (p1, p2, p3) = await voted(app, rule="greedy")
    await set_settings(app, component, voting_enabled=False)
    assert (await web.get(budget_path(space, component, budget, "/results.json"))).status == 200
    # From now on the host leaves carla's ballot out of its public list, but still counts it.
    from node.components.budgets import results

    listed = results.cast_ballots

    async def hiding(db, budget_id):
        return [row for row in await listed(db, budget_id) if [p for p, _, _ in row[4]] != [p2.id, p3.id]]

    monkeypatch.setattr(results, "cast_ballots", hiding)
    assert await run_recount(space_url(app, space), allow_private=True) == 1
    out = capsys.readouterr().out
    assert "budget “North district”" in out
    assert "the results count 4 ballots, the public list has 3" in out
    assert f"project “Project two” ({p2.id}): the host publishes 1 votes or points, the public ballots give 0" in out


async def test_a_space_without_budgets_or_ballots_recounts_ok(app, server, capsys):
    space, component, _ = await budgets_component(app, voting_enabled=False)
    await make_budget(app, component, total="1000", title="Empty budget")
    assert await run_recount(space_url(app, space), allow_private=True) == 0
    assert "OK, 0 public ballots recounted, selected: nothing" in capsys.readouterr().out
    async with app[DB]() as db:
        assert await db.scalar(select(Ballot.id)) is None


async def test_a_partner_ballot_counted_without_its_signed_record_is_caught(app, server, capsys):
    from node.cohosting.models import RemoteParticipant

    space, component, budget, (p1, p2, p3) = await voted(app, rule="greedy")
    # A ballot said to come from a partner node's resident, of whom the records hold nothing.
    async with app[DB].begin() as db:
        voter = RemoteParticipant(actor_uri="https://town.example/users/joan", home_node_uri="https://town.example/actor",
                                  home_host="town.example")
        db.add(voter)
        await db.flush()
        await check_and_store_ballot(db, await db.get(Budget, budget.id), voter, {p2.id: None},
                                     base_url=app[SETTINGS].base_url)
    await set_settings(app, component, voting_enabled=False)
    assert await run_recount(space_url(app, space), allow_private=True) == 1
    out = capsys.readouterr().out
    assert ("budget “North district”" in out
            and "the host publishes 1 ballots from town.example, the signed ballot records give 0" in out)
