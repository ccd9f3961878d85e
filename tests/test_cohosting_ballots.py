"""Remote ballots in a co-hosted budget: real nodes over HTTP, SQLite and PostgreSQL.

The city hosts "budget-2027" with a budget of €100,000 and the town as partner (census-verified
residents). A town resident opens the budgets of the space from the town's mirror (read from the
city's budgets.json), chooses projects, and the town sends a Create{Ballot} signed by them with
its attestation and a receipt whose salt only the resident saw; the city checks them and the
budget's rules, counts the ballot, keeps a public record without the choices, and answers. The
results show the ballots per node. Refusals come back with their reason.
"""
from __future__ import annotations

import hashlib
import html
import re
import secrets
import uuid

from sqlalchemy import select

from node.activitypub import uris
from node.activitypub.follow_models import RemoteSpace
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.cohosting import home
from node.cohosting.attestation import unsigned_attestation
from node.cohosting.models import OutgoingParticipation, ParticipationRecord, RemoteParticipant
from node.components.budgets import service
from node.components.budgets.models import Ballot, BallotItem, Budget
from node.components.budgets.public import project_uri
from node.db.base import utcnow
from tests.budgets_support import budget_path, budgets_component, make_budget, make_project, set_settings
from tests.helpers import Page, csrf_from
from tests.nodes import running_nodes
from tests.spaces_support import PASSWORD, make_user
from tests.test_cohosting_participation import CENSUS, answers, follow, partners, resident
from tests.test_following import settle


async def city_budget(city):
    space, component, _ = await budgets_component(city.app, "budget-2027")
    budget = await make_budget(city.app, component, total="100000", title="District budget")
    projects = [await make_project(city.app, budget, title, cost)
                for title, cost in (("Shade trees", 60000), ("Bike lanes", 30000), ("New library", 50000))]
    return space, component, budget, projects


async def mirror_of(node, city) -> int:
    async with node.db() as db:
        return await db.scalar(select(RemoteSpace.id).where(
            RemoteSpace.uri == uris.space_actor(city.base_url, "budget-2027")))


async def vote(node, space_id: int, budget, projects=(), **points) -> Page:
    """The ballot form as a browser sends it (several ``project`` fields)."""
    path = f"/following/{space_id}/budgets"
    page = await node.client.get(path)
    data = [("_csrf", csrf_from(page.text))] + [("project", str(p.id)) for p in projects]
    data += [(key, str(value)) for key, value in points.items()]
    async with node.client.session.post(f"{node.base_url}{path}/{budget.id}/vote", data=data) as response:
        return Page(response.status, str(response.url), await response.text(), dict(response.headers))


async def city_ballots(city, budget) -> list[tuple]:
    """(user id, participant's actor or None, receipt, project ids) of the budget's cast ballots."""
    async with city.db() as db:
        rows = (await db.execute(select(Ballot, RemoteParticipant.actor_uri)
                                 .outerjoin(RemoteParticipant, RemoteParticipant.id == Ballot.participant_id)
                                 .where(Ballot.budget_id == budget.id, Ballot.checked_out_at.is_not(None))
                                 .order_by(Ballot.id))).all()
        found = []
        for ballot, actor in rows:
            items = sorted((await db.scalars(select(BallotItem.project_id)
                                             .where(BallotItem.ballot_id == ballot.id))).all())
            found.append((ballot.user_id, actor, ballot.receipt, items))
        return found


async def records(city) -> list[ParticipationRecord]:
    async with city.db() as db:
        return list(await db.scalars(select(ParticipationRecord).order_by(ParticipationRecord.sequence)))


async def test_a_partner_resident_votes_from_home_and_the_host_counts_it(tmp_path, database_url_for):
    from federation.fetch import SafeFetcher
    from node.cohosting.recount import recount

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, budget, (trees, lanes, library) = await city_budget(city)
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        await follow(town, city, "jordi")
        # A city resident votes on the city.
        amelie = await make_user(city.app, "amelie")
        async with city.app[DB].begin() as db:
            await service.check_and_store_ballot(db, await db.get(Budget, budget.id), amelie, {library.id: None},
                                                 base_url=city.base_url)

        space_id = await mirror_of(town, city)
        page = await town.client.get(f"/following/{space_id}")
        assert page.has(f'href="/following/{space_id}/budgets"')
        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.status == 200 and page.has("District budget") and page.has("Shade trees")
        assert page.has(f'action="/following/{space_id}/budgets/{budget.id}/vote"')
        assert page.has(f'name="project" value="{lanes.id}"')

        page = await vote(town, space_id, budget, [trees, lanes])
        assert page.status == 200 and page.has("Your ballot is sent")
        receipt = re.search(r'<code class="receipt" id="receipt">([0-9a-f]{64})</code>', page.text).group(1)
        salt = re.search(r'<code id="salt">([0-9a-f]{32})</code>', page.text).group(1)
        canonical = html.unescape(re.search(r'<pre id="canonical">(.*?)</pre>', page.text).group(1))
        budget_uri = f"{city.base_url}{budget_path(space, component, budget)}"
        # The receipt is what the city's own receipts are: the budget, the host's project ids, the salt.
        assert canonical == service.canonical_ballot(budget_uri, {trees.id: None, lanes.id: None}, salt)
        assert hashlib.sha256(canonical.encode()).hexdigest() == receipt
        await settle(town, city)

        person = uris.user_actor(town.base_url, "jordi")
        ballots = await city_ballots(city, budget)
        assert ballots[1] == (None, person, receipt, sorted([trees.id, lanes.id]))
        assert ballots[0][0] == amelie.id
        # The public record: who voted, signed and vouched for; not what they chose.
        [record] = await records(city)
        assert (record.kind, record.answer, record.object_uri) == ("ballot", "accepted", budget_uri)
        assert "selection" not in record.activity and "receipt" not in record.activity
        assert record.activity["object"]["proof"]["verificationMethod"].startswith(f"{person}#")
        assert salt not in str(record.activity) and receipt not in str(record.activity)

        # Back home: counted, with the receipt and where to find it; the salt is kept nowhere.
        assert await answers(town, jordi) == [("ballot", "accepted", None)]
        async with town.db() as db:
            sent = await db.scalar(select(OutgoingParticipation).where(OutgoingParticipation.kind == "ballot"))
        assert sent.result_uri == f"{budget_uri}/ballots?receipt={receipt}" and salt not in str(sent.activity)
        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.has(f"Your ballot is counted by {city.host}") and page.has(receipt)
        assert not page.has(f'action="/following/{space_id}/budgets/{budget.id}/vote"')

        # Per-node turnout, published with the results once voting is over (not before).
        results = budget_path(space, component, budget, "/results")
        page = await city.client.get(results)
        assert page.status == 403
        await set_settings(city.app, component, voting_enabled=False)
        page = await city.client.get(results)
        assert page.status == 200 and page.has("Ballots by node")
        assert page.has(f"<tr><td>{city.host}</td><td>1</td></tr>") and page.has(f"<tr><td>{town.host}</td><td>1</td></tr>")
        async with city.client.session.get(f"{city.base_url}{results}.json") as response:
            counted = await response.json()
        assert counted["ballots"] == 2 and counted["turnout_by_node"] == {city.host: 1, town.host: 1}
        # The resident finds their receipt in the public list, with their choices.
        page = await city.client.get(budget_path(space, component, budget, f"/ballots?receipt={receipt}"))
        assert page.has(receipt)

        # Ballot records are evidence: the recount checks the signatures and still agrees.
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, f"{city.base_url}/spaces/budget-2027")
        assert report.ok, report.problems
        assert (report.records, report.checked) == (1, 1)


async def test_refusals_come_back_with_their_reason(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town", "village"], database_url_for=database_url_for) as nodes:
        city, town, village = nodes["city"], nodes["town"], nodes["village"]
        space, component, budget, (trees, lanes, library) = await city_budget(city)
        group = uris.space_actor(city.base_url, "budget-2027")
        budget_uri = f"{city.base_url}{budget_path(space, component, budget)}"
        await partners(city, town, space)
        await partners(city, village, space, host_side=False)  # the village believes it is a partner
        jordi = await resident(town, "jordi")
        marta = await resident(town, "marta")
        await resident(town, "nuria", census=False)
        pau = await resident(village, "pau")
        await follow(town, city, "jordi")
        await follow(village, city, "pau")
        space_id = await mirror_of(town, city)

        # Refused at home, before anything is sent: no verification, no choice, a foreign project.
        await town.client.login("nuria", PASSWORD)
        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.has("Get one of the verifications this consultation asks for") and not page.has('name="project"')
        page = await vote(town, space_id, budget, [lanes])
        assert page.status == 403 and page.has("Residence (municipal census)")
        await town.client.login("jordi", PASSWORD)
        page = await vote(town, space_id, budget, [])
        assert page.status == 422 and page.has("Choose at least one project")
        page = await vote(town, space_id, budget, [type("P", (), {"id": 999999})()])
        assert page.status == 422 and page.has("This project is not in this budget")
        assert await answers(town, jordi) == []

        # Not a partner: the city refuses the village's resident, who is told why.
        await village.client.login("pau", PASSWORD)
        village_space = await mirror_of(village, city)
        assert (await vote(village, village_space, budget, [lanes])).status == 200
        await settle(village, city)
        assert await answers(village, pau) == [("ballot", "rejected", "not_partner")]
        page = await village.client.get(f"/following/{village_space}/budgets")
        assert page.has("did not count your ballot: Your node is not a partner of this consultation")

        # Over the budget (€110,000 of €100,000): refused by the budget's rules; the resident may vote again.
        assert (await vote(town, space_id, budget, [trees, library])).status == 200
        await settle(town, city)
        assert await answers(town, jordi) == [("ballot", "rejected", "ballot_invalid")]
        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.has("did not count your ballot: The host refused your ballot: it does not respect")
        assert page.has(f'action="/following/{space_id}/budgets/{budget.id}/vote"')
        assert (await vote(town, space_id, budget, [trees])).status == 200
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("ballot", "accepted", None)
        # A second ballot: refused at home; and by the host when a node sends it anyway.
        page = await vote(town, space_id, budget, [lanes])
        assert page.status == 409 and page.has("You have already voted in this budget")

        async def crafted(user, attestation: dict | None = None) -> None:
            person = uris.user_actor(town.base_url, user.username)
            async with town.app[DB].begin() as db:
                ballot = await home._signed(db, "user", user.id, person, {
                    "id": f"{person}/ballots/{uuid.uuid4()}", "type": "Ballot", "attributedTo": person,
                    "context": budget_uri})
                if attestation is None:
                    attestation = await home._attestation(db, town.base_url, user, group, CENSUS)
                activity = await home._signed(db, "user", user.id, person, {
                    "@context": home._context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Create",
                    "actor": person, "object": ballot, "selection": [{"id": project_uri(budget_uri, lanes.id)}],
                    "receipt": secrets.token_hex(32), "audience": group, "to": [group], "attestation": attestation})
                db.add(OutgoingParticipation(user_id=user.id, space_uri=group, object_uri=budget_uri, kind="ballot",
                                             activity_id=activity["id"], activity=activity))
                await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[f"{group}/inbox"])

        await crafted(jordi)
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("ballot", "rejected", "already_voted")

        # A forged attestation (signed by the resident, not by their node): refused, not kept.
        person = uris.user_actor(town.base_url, "marta")
        async with town.app[DB].begin() as db:
            forged = await home._signed(db, "user", marta.id, person, unsigned_attestation(
                node_actor=uris.node_actor(town.base_url), resident=person, space=group, authorisation="census",
                now=utcnow()))
        await crafted(marta, forged)
        await settle(town, city)
        assert await answers(town, marta) == [("ballot", "rejected", "attestation_forged")]

        # Voting closed: the town's page says so and sends nothing; a ballot sent anyway is refused.
        await set_settings(city.app, component, voting_enabled=False)
        await town.client.login("marta", PASSWORD)
        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.has("Voting is not open in this budget at the moment.")
        page = await vote(town, space_id, budget, [lanes])
        assert page.status == 403 and page.has("Voting is not open in this budget at the moment.")
        await crafted(marta)
        await settle(town, city)
        assert (await answers(town, marta))[-1] == ("ballot", "rejected", "voting_closed")

        # Counted: jordi's one ballot. Kept as records: every answer after the attestation held.
        ballots = await city_ballots(city, budget)
        assert [(b[1], b[3]) for b in ballots] == [(uris.user_actor(town.base_url, "jordi"), [trees.id])]
        assert [(r.actor_uri.rsplit("/", 1)[-1], r.reason) for r in await records(city)] == [
            ("pau", "not_partner"), ("jordi", "ballot_invalid"), ("jordi", None), ("jordi", "already_voted"),
            ("marta", "voting_closed")]


async def test_a_cumulative_ballot_carries_its_points(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await budgets_component(city.app, "budget-2027", ballot_kind="cumulative", points=10)
        budget = await make_budget(city.app, component, total="100000")
        trees = await make_project(city.app, budget, "Shade trees", 60000)
        lanes = await make_project(city.app, budget, "Bike lanes", 30000)
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        await follow(town, city, "jordi")
        space_id = await mirror_of(town, city)
        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.has("Points to share: 10.") and page.has(f'name="points_{lanes.id}"')
        # More points than the budget allows: the host refuses; then a ballot within them.
        await vote(town, space_id, budget, **{f"points_{trees.id}": 8, f"points_{lanes.id}": 3})
        await settle(town, city)
        page = await vote(town, space_id, budget, **{f"points_{trees.id}": 7, f"points_{lanes.id}": 3})
        canonical = html.unescape(re.search(r'<pre id="canonical">(.*?)</pre>', page.text).group(1))
        assert f'{{"points":7,"project":{trees.id}}}' in canonical
        await settle(town, city)
        assert [a[1:] for a in await answers(town, jordi)] == [("rejected", "ballot_invalid"), ("accepted", None)]
        async with city.db() as db:
            ballot = await db.scalar(select(Ballot).where(Ballot.budget_id == budget.id))
            points = dict((await db.execute(select(BallotItem.project_id, BallotItem.points)
                                            .where(BallotItem.ballot_id == ballot.id))).all())
        assert {k: int(v) for k, v in points.items()} == {trees.id: 7, lanes.id: 3}
        assert ballot.receipt == hashlib.sha256(canonical.encode()).hexdigest()
