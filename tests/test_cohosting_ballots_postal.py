"""Remote ballots in a budget restricted to postal codes: real nodes over HTTP, SQLite and PostgreSQL.

The city's budget takes ballots from residents of 08001 and 08-002 only. The town's residents
are census-verified on the town: the town checks, before sending, that the resident's
verification holds one of the codes the city publishes, and its signed attestation says so for
this budget (``residesIn``: the budget's whole list, never the resident's own code, since the
attestation goes into the city's public records). The city counts a ballot only with that claim,
for this budget, within its codes; the recount checks the claims again.
"""
from __future__ import annotations

import copy
import secrets
import uuid

from node.activitypub import uris
from node.activitypub.outbox import enqueue
from node.appkeys import DB, SETTINGS
from node.cohosting import home
from node.cohosting.models import OutgoingParticipation
from node.components.budgets.models import Budget
from node.components.budgets.public import project_uri
from node.verification.grants import grant
from tests.budgets_support import budget_path, budgets_component, make_budget, make_project
from tests.nodes import running_nodes
from tests.spaces_support import PASSWORD, make_user
from tests.test_cohosting_ballots import city_ballots, mirror_of, records, vote
from tests.test_cohosting_participation import CENSUS, answers, follow, partners
from tests.test_following import settle

CODES = ["08001", "08002"]  # the claim: the budget's codes, normalised and sorted


async def restricted_budget(city, title="District budget"):
    space, component, _ = await budgets_component(city.app, "budget-2027")
    budget = await make_budget(city.app, component, total="100000", title=title, postal_codes="08001, 08-002")
    trees = await make_project(city.app, budget, "Shade trees", 60000)
    return space, component, budget, trees


async def resident_of(node, username: str, postal_code: str):
    user = await make_user(node.app, username)
    async with node.app[DB].begin() as db:
        await grant(db, user_id=user.id, handler="census", details={"postal_code": postal_code},
                    settings=node.app[SETTINGS], unique_digest=f"digest-{username}")
    return user


async def test_a_resident_of_an_allowed_code_votes_and_one_of_another_is_told_at_home(tmp_path, database_url_for):
    from federation.fetch import SafeFetcher
    from node.cohosting.recount import recount

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, budget, trees = await restricted_budget(city)
        budget_uri = f"{city.base_url}{budget_path(space, component, budget)}"
        await partners(city, town, space)
        jordi = await resident_of(town, "jordi", "08002")
        marta = await resident_of(town, "marta", "17001")
        await follow(town, city, "marta")
        await follow(town, city, "jordi")
        space_id = await mirror_of(town, city)

        # The city publishes the codes (they are on the budget's page already).
        async with town.client.session.get(f"{city.base_url}/spaces/budget-2027/budgets.json") as response:
            [published] = (await response.json())["budgets"]
        assert (published["restricted"], published["postalCodes"]) == (True, ["08001", "08-002"])

        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.has("Only residents of these postal codes may vote in this budget: 08001, 08-002.")
        assert page.has(f'action="/following/{space_id}/budgets/{budget.id}/vote"')
        page = await vote(town, space_id, budget, [trees])
        assert page.status == 200 and page.has("Your ballot is sent")
        await settle(town, city)
        assert await answers(town, jordi) == [("ballot", "accepted", None)]
        assert [(b[1], b[3]) for b in await city_ballots(city, budget)] == [
            (uris.user_actor(town.base_url, "jordi"), [trees.id])]
        # The public record says "one of the budget's codes", signed by the town; not which.
        [record] = await records(city)
        attestation = record.activity["attestation"]
        assert attestation["residesIn"] == {"context": budget_uri, "postalCodes": CODES}
        assert "postal_code" not in str(record.activity)

        # Verified in another code: told before sending; nothing is sent.
        await town.client.login("marta", PASSWORD)
        page = await town.client.get(f"/following/{space_id}/budgets")
        assert page.has("None of your verifications on this node holds one of these postal codes")
        assert not page.has(f'action="/following/{space_id}/budgets/{budget.id}/vote"')
        page = await vote(town, space_id, budget, [trees])
        assert page.status == 403
        assert page.has("This budget is for residents of these postal codes only: 08001, 08-002.")
        assert await answers(town, marta) == []

        # The recount checks the claim with the record's signatures, and the budget's codes now.
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, f"{city.base_url}/spaces/budget-2027")
            assert report.ok, report.problems
            assert (report.records, report.checked) == (1, 1)
            async with city.app[DB].begin() as db:
                (await db.get(Budget, budget.id)).postal_codes = ["08001"]
            report = await recount(fetcher, f"{city.base_url}/spaces/budget-2027")
        assert [p for p in report.problems if "['08002'] the budget does not list" in p], report.problems


async def test_the_host_refuses_a_missing_forged_or_foreign_claim(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, budget, trees = await restricted_budget(city)
        other = await make_budget(city.app, component, total="5000", title="Youth budget", postal_codes="08001")
        group = uris.space_actor(city.base_url, "budget-2027")
        budget_uri = f"{city.base_url}{budget_path(space, component, budget)}"
        other_uri = f"{city.base_url}{budget_path(space, component, other)}"
        await partners(city, town, space)
        people = {name: await resident_of(town, name, "08001") for name in ("anna", "biel", "carla", "dani")}
        await follow(town, city, "anna")

        async def crafted(user, residence=None, tamper=None) -> None:
            """A ballot built by hand, signed by the resident, with the town's attestation."""
            person = uris.user_actor(town.base_url, user.username)
            async with town.app[DB].begin() as db:
                ballot = await home._signed(db, "user", user.id, person, {
                    "id": f"{person}/ballots/{uuid.uuid4()}", "type": "Ballot", "attributedTo": person,
                    "context": budget_uri})
                attestation = await home._attestation(db, town.base_url, user, group, CENSUS, residence)
                if tamper:
                    attestation = tamper(copy.deepcopy(attestation))
                activity = await home._signed(db, "user", user.id, person, {
                    "@context": home._context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Create",
                    "actor": person, "object": ballot, "selection": [{"id": project_uri(budget_uri, trees.id)}],
                    "receipt": secrets.token_hex(32), "audience": group, "to": [group], "attestation": attestation})
                db.add(OutgoingParticipation(user_id=user.id, space_uri=group, object_uri=budget_uri, kind="ballot",
                                             activity_id=activity["id"], activity=activity))
                await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[f"{group}/inbox"])

        def widened(attestation):  # the resident adds a claim after their node signed
            attestation["residesIn"] = {"context": budget_uri, "postalCodes": CODES}
            return attestation

        await crafted(people["anna"])  # no claim: a node that does not know about postal codes
        await crafted(people["biel"], (other_uri, ["08001"]))  # the claim of another budget
        await crafted(people["carla"], (budget_uri, ["08001", "17001"]))  # codes the budget does not have
        await crafted(people["dani"], tamper=widened)
        await settle(town, city)
        assert [(await answers(town, user))[0][1:] for user in people.values()] == [
            ("rejected", "postal_code_not_attested"), ("rejected", "budget_restricted"),
            ("rejected", "budget_restricted"), ("rejected", "attestation_forged")]
        assert await city_ballots(city, budget) == []
        # Refusals after the attestation held are records (nothing counted); a forged one is not.
        assert sorted((r.actor_uri.rsplit("/", 1)[-1], r.answer, r.reason) for r in await records(city)) == [
            ("anna", "rejected", "postal_code_not_attested"), ("biel", "rejected", "budget_restricted"),
            ("carla", "rejected", "budget_restricted")]
        page = await town.client.get(f"/following/{await mirror_of(town, city)}/budgets")
        assert page.has("your node did not vouch that you live in one of them")
