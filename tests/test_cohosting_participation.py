"""Remote participation in a co-hosted space: three real nodes over HTTP, SQLite and PostgreSQL.

The city hosts "budget-2027" and has the town as partner (census-verified residents); the
village follows the space but is no partner. A town resident supports a city proposal from the
town's mirror; the city checks the resident's proof, the town's attestation, the partnership
and the component's rules, counts it, and answers; the town shows the answer. The partnership
rows are written directly here: their lifecycle (Invite/Accept) has its own tests.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from node.activitypub import uris
from node.activitypub.follow_models import RemoteItem
from node.activitypub.outbox import enqueue
from node.appkeys import DB, SETTINGS
from node.cohosting import home
from node.cohosting.attestation import unsigned_attestation
from node.cohosting.models import OutgoingParticipation, ParticipationRecord, Partnership, SpacePartner
from node.components.proposals.models import Proposal, Support
from node.db.base import utcnow
from node.spaces.models import Space
from node.verification.grants import grant
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, set_settings, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_following import settle


CENSUS = {"authorisations": ["census"]}


async def partners(city, town, space, conditions=CENSUS, *, host_side=True) -> None:
    group = uris.space_actor(city.base_url, space.slug)
    node = uris.node_actor(town.base_url)
    if host_side:
        async with city.app[DB].begin() as db:
            (await db.get(Space, space.id)).federation_policy = "partners"
            db.add(SpacePartner(space_id=space.id, node_uri=node, host=town.host, inbox=f"{town.base_url}/inbox",
                                state="active", conditions=conditions,
                                invite_activity_id=f"{city.base_url}/actor/partners/invites/{town.name}"))
    async with town.app[DB].begin() as db:
        db.add(Partnership(space_uri=group, host_node_uri=uris.node_actor(city.base_url), state="active",
                           conditions=conditions, invite_activity_id=f"{city.base_url}/actor/partners/invites/{town.name}"))


async def resident(node, username: str, *, census: bool = True):
    user = await make_user(node.app, username)
    if census:
        async with node.app[DB].begin() as db:
            await grant(db, user_id=user.id, handler="census", details={"postal_code": "08001"},
                        settings=node.app[SETTINGS], unique_digest=f"digest-{username}")
    return user


async def follow(node, city, username: str, slug: str = "budget-2027") -> None:
    await node.client.login(username, PASSWORD)
    page = await node.client.post("/following", {"address": f"{slug}@{city.host}"}, csrf_from_path="/following")
    assert "?done=followed" in page.url


async def mirrored(node, uri: str) -> tuple[int, int]:
    async with node.db() as db:
        item = await db.scalar(select(RemoteItem).where(RemoteItem.uri == uri))
    return item.remote_space_id, item.id


async def take_part(node, space_id: int, item_id: int, action: str = "support"):
    path = f"/following/{space_id}/items/{item_id}"
    return await node.client.post(f"{path}/take-part", {"action": action}, csrf_from_path=path)


async def support_count(city, proposal_id: int) -> int:
    async with city.db() as db:
        return (await db.get(Proposal, proposal_id)).support_count


async def answers(node, user) -> list[tuple[str, str, str | None]]:
    async with node.db() as db:
        rows = await db.scalars(select(OutgoingParticipation).where(OutgoingParticipation.user_id == user.id)
                                .order_by(OutgoingParticipation.id))
        return [(r.kind, r.answer, r.reason) for r in rows]


async def send_crafted(node, user, city_space_inbox: str, activity: dict) -> None:
    """What a misbehaving (or buggy) home node could send: signed by the resident, as sent."""
    person = uris.user_actor(node.base_url, user.username)
    async with node.app[DB].begin() as db:
        signed = await home._signed(db, "user", user.id, person, activity)
        db.add(OutgoingParticipation(user_id=user.id, space_uri=activity["audience"], object_uri=activity["object"],
                                     kind="support", activity_id=signed["id"], activity=signed))
        await enqueue(db, actor_type="user", actor_id=user.id, activity=signed, inboxes=[city_space_inbox])


async def test_a_partner_resident_supports_from_home_and_the_host_counts_it(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027", supports_enabled=True)
        author = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        await follow(town, city, "jordi")
        uri = f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}"
        space_id, item_id = await mirrored(town, uri)

        page = await town.client.get(f"/following/{space_id}/items/{item_id}")
        assert page.has("Take part from this node") and page.has('value="support"')
        page = await take_part(town, space_id, item_id)
        assert page.status == 200 and page.has("Your support was sent to")
        await settle(town, city)

        assert await support_count(city, proposal.id) == 1
        async with city.db() as db:
            support = await db.scalar(select(Support).where(Support.proposal_id == proposal.id))
            record = await db.scalar(select(ParticipationRecord))
        assert support.user_id is None and support.participant_id is not None and support.counted
        assert record.answer == "accepted" and record.kind == "support" and record.object_uri == uri
        # The evidence is what the resident sent: their proof and the town's signed attestation.
        assert record.activity["proof"]["verificationMethod"].startswith(f"{town.base_url}/users/jordi#")
        assert record.activity["attestation"]["proof"]["verificationMethod"].startswith(f"{town.base_url}/actor#")
        assert record.activity["attestation"]["authorization"] == "census"
        assert await answers(town, jordi) == [("support", "accepted", None)]
        # The city publishes its count per home node, on the page and in the API.
        bernat = await make_user(city.app, "bernat")
        async with city.app[DB].begin() as db:
            from node.components.proposals.supports import add_support
            await add_support(db, proposal.id, bernat, None)
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.has("Supports by node:") and page.has(f"{city.host} 1") and page.has(f"{town.host} 1")
        api = await city.client.session.get(f"{city.base_url}/api/proposals/{proposal.id}")
        assert (await api.json())["supports_by_origin"] == {city.host: 1, town.host: 1}
        page = await town.client.get(f"/following/{space_id}/items/{item_id}")
        assert page.has("Your support is counted by") and page.has('value="withdraw"')

        # Withdrawing goes the same way, and the count follows.
        page = await take_part(town, space_id, item_id, "withdraw")
        assert page.has("Your withdrawal was sent to")
        await settle(town, city)
        assert await support_count(city, proposal.id) == 1  # bernat's
        assert await answers(town, jordi) == [("support", "accepted", None), ("withdrawal", "accepted", None)]
        page = await town.client.get(f"/following/{space_id}/items/{item_id}")
        assert page.has("You no longer support this proposal.") and page.has('value="support"')


async def test_refusals_come_back_with_their_reason(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town", "village"], database_url_for=database_url_for) as nodes:
        city, town, village = nodes["city"], nodes["town"], nodes["village"]
        space, component, _ = await space_with_component(city.app, "budget-2027", supports_enabled=True)
        other, _, _ = await space_with_component(city.app, "parks-2027", supports_enabled=True)
        author = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        uri = f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}"
        group = uris.space_actor(city.base_url, "budget-2027")
        await partners(city, town, space)
        # The village believes it is a partner; the city never invited it.
        await partners(city, village, space, host_side=False)
        jordi, nuria = await resident(town, "jordi"), await resident(town, "nuria", census=False)
        pau = await resident(village, "pau")
        await follow(town, city, "jordi")
        await follow(village, city, "pau")
        space_id, item_id = await mirrored(town, uri)

        # Not verified: the town refuses before sending anything, and says what is missing.
        await town.client.login("nuria", PASSWORD)
        page = await town.client.get(f"/following/{space_id}/items/{item_id}")
        assert page.has("Get one of the verifications above") and not page.has('value="support"')
        page = await take_part(town, space_id, item_id)
        assert page.status == 403 and page.has("Residence (municipal census)")
        assert await answers(town, nuria) == []

        # Not a partner: the city refuses the village's resident.
        village_space, village_item = await mirrored(village, uri)
        await village.client.login("pau", PASSWORD)
        await take_part(village, village_space, village_item)
        await settle(village, city)
        assert await answers(village, pau) == [("support", "rejected", "not_partner")]
        page = await village.client.get(f"/following/{village_space}/items/{village_item}")
        assert page.has("Your node is not a partner of this consultation")

        # Accepted once; a second support of the same person (a home node that lost track) is refused.
        await town.client.login("jordi", PASSWORD)
        await take_part(town, space_id, item_id)
        await settle(town, city)
        async with town.app[DB].begin() as db:
            row = await db.scalar(select(OutgoingParticipation).where(OutgoingParticipation.user_id == jordi.id))
            row.answer = "rejected"  # so that the town lets the resident send again
        await take_part(town, space_id, item_id)
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("support", "rejected", "already_supported")
        assert await support_count(city, proposal.id) == 1

        # Crafted attestations: forged (signed by the resident, not the node), for another
        # space, expired. None is counted, and none leaves a record naming the resident.
        person = uris.user_actor(town.base_url, "jordi")
        second = await make_proposal(city.app, space, component, author, title="Benches on the square")
        second_uri = f"{city.base_url}/spaces/budget-2027/proposals/{second.id}"
        now = utcnow()

        async def like(n: int, attestation: dict) -> dict:
            return {"@context": home._context(), "id": f"{person}/participations/crafted-{n}", "type": "Like",
                    "actor": person, "object": second_uri, "audience": group, "to": [group],
                    "attestation": attestation}

        node_actor = uris.node_actor(town.base_url)
        async with town.app[DB].begin() as db:
            forged = await home._signed(db, "user", jordi.id, person, unsigned_attestation(
                node_actor=node_actor, resident=person, space=group, authorisation="census", now=now))
            elsewhere = await home._signed(db, "node", 0, node_actor, unsigned_attestation(
                node_actor=node_actor, resident=person, space=uris.space_actor(city.base_url, other.slug),
                authorisation="census", now=now))
            expired = await home._signed(db, "node", 0, node_actor, unsigned_attestation(
                node_actor=node_actor, resident=person, space=group, authorisation="census",
                now=now - timedelta(days=10)))
        inbox = f"{group}/inbox"
        for n, attestation in enumerate((forged, elsewhere, expired), start=1):
            await send_crafted(town, jordi, inbox, await like(n, attestation))
        await settle(town, city)
        assert [a[2] for a in (await answers(town, jordi))[-3:]] == \
            ["attestation_forged", "attestation_other_space", "attestation_expired"]
        assert await support_count(city, second.id) == 0
        async with city.db() as db:
            kept = (await db.scalars(select(ParticipationRecord.reason).where(
                ParticipationRecord.object_uri == second_uri).order_by(ParticipationRecord.id))).all()
        assert kept == []

        # Supports closed by the host: refused with that reason, shown in the resident's words.
        await set_settings(city.app, component, supports_enabled=False)
        second_space, second_item = await mirrored(town, second_uri)
        await take_part(town, second_space, second_item)
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("support", "rejected", "supports_closed")
        page = await town.client.get(f"/following/{second_space}/items/{second_item}")
        assert page.has("did not count your support: Supports are not open at the moment")
        async with city.db() as db:
            assert await db.scalar(select(func.count()).select_from(Support)) == 1


async def test_anyone_recounts_a_space_from_its_signed_records(tmp_path, database_url_for, capsys):
    from federation.fetch import SafeFetcher
    from node.cohosting.recount import recount
    from node.cohosting.recount_command import run_recount

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027", minimum_supports_per_user=2)
        author = await make_user(city.app, "amelie")
        trees = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        benches = await make_proposal(city.app, space, component, author, title="Benches on the square")
        await partners(city, town, space)
        await resident(town, "jordi")
        await follow(town, city, "jordi")
        # Local residents support through the city's pages: each support is recorded, signed by the city.
        for name, proposals in (("bernat", [trees, benches]), ("carla", [trees])):
            await make_user(city.app, name)
            await city.client.login(name, PASSWORD)
            for proposal in proposals:
                path = f"/spaces/budget-2027/proposals/{proposal.id}"
                page = await city.client.post(f"{path}/support", {}, csrf_from_path=path)
                assert page.status == 200
        await town.client.login("jordi", PASSWORD)
        for proposal in (trees, benches):
            space_id, item_id = await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}")
            await take_part(town, space_id, item_id)
        await settle(town, city)
        space_id, item_id = await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{benches.id}")
        await take_part(town, space_id, item_id, "withdraw")  # jordi falls below the minimum of 2
        await settle(town, city)
        # carla gave one support only (minimum 2): not counted; jordi withdrew one: neither counted.
        assert (await support_count(city, trees.id), await support_count(city, benches.id)) == (1, 1)

        url = f"{city.base_url}/spaces/budget-2027"
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, url)
        assert report.ok, report.problems
        assert (report.records, report.checked, report.proposals) == (6, 6, 2)
        assert report.counts[f"{url}/proposals/{trees.id}"] == {city.host: 1}
        assert await run_recount(url, allow_private=True) == 0
        assert "OK: every published count matches" in capsys.readouterr().out

        # The host quietly adds a support: the recount names the proposal.
        async with city.app[DB].begin() as db:
            (await db.get(Proposal, trees.id)).support_count = 2
        assert await run_recount(url, allow_private=True) == 1
        out = capsys.readouterr().out
        assert f"MISMATCH {url}/proposals/{trees.id}: the host publishes 2 supports, the records give 1" in out
        # ... or rewrites a record: the recount names the record.
        async with city.app[DB].begin() as db:
            (await db.get(Proposal, trees.id)).support_count = 1
            record = await db.scalar(select(ParticipationRecord).where(ParticipationRecord.kind == "withdrawal"))
            record.activity = {**record.activity, "published": "2020-01-01T00:00:00Z"}
        assert await run_recount(url, allow_private=True) == 1
        out = capsys.readouterr().out
        assert f"MISMATCH record {record.sequence}: " in out and "altered after signing" in out
        assert f"MISMATCH the chain of records breaks: record {record.sequence}: its chainHash" in out


async def test_a_host_down_then_back_counts_each_support_once(tmp_path, database_url_for):
    from aiohttp import web

    from node.activitypub.delivery_models import Delivery, HostState
    from node.activitypub.outbox import wake_workers

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        author = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        await follow(town, city, "jordi")
        await settle(town, city)
        space_id, item_id = await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}")

        # The city stops listening (its database and state stay): the town keeps the support queued.
        port = city.server.port
        for site in list(city.server.runner.sites):
            await site.stop()
        await city.server.runner.server.shutdown(1.0)  # and drops the kept-alive connections
        await town.client.login("jordi", PASSWORD)
        assert (await take_part(town, space_id, item_id)).has("Your support was sent to")
        await settle(town)
        async with town.db() as db:
            delivery = await db.scalar(select(Delivery).order_by(Delivery.id.desc()).limit(1))
        assert delivery.status == "pending" and delivery.attempts >= 1 and delivery.last_error
        assert await support_count(city, proposal.id) == 0

        # Back on the same address; the retry is due (the backoff's wait is skipped, not slept).
        site = web.TCPSite(city.server.runner, "127.0.0.1", port)
        await site.start()
        async with town.app[DB].begin() as db:
            (await db.get(Delivery, delivery.id)).next_attempt_at = utcnow()
            for state in await db.scalars(select(HostState)):
                state.circuit_open_until = None
        wake_workers()
        await settle(town, city)
        assert await support_count(city, proposal.id) == 1
        assert await answers(town, jordi) == [("support", "accepted", None)]

        # The same POST again (a retry after a lost acknowledgement): the inbox ignores the replay.
        async with town.app[DB].begin() as db:
            row = await db.get(Delivery, delivery.id)
            row.status, row.next_attempt_at, row.delivered_at = "pending", utcnow(), None
        wake_workers()
        await settle(town, city)
        async with town.db() as db:
            assert (await db.get(Delivery, delivery.id)).status == "delivered"
        assert await support_count(city, proposal.id) == 1
        async with city.db() as db:
            assert await db.scalar(select(func.count()).select_from(ParticipationRecord)) == 1


async def test_an_open_space_counts_non_partners_apart_as_informal(tmp_path, database_url_for):
    from federation.fetch import SafeFetcher
    from node.cohosting.models import InformalSupport
    from node.cohosting.recount import recount

    async with running_nodes(tmp_path, ["city", "village"], database_url_for=database_url_for) as nodes:
        city, village = nodes["city"], nodes["village"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        async with city.app[DB].begin() as db:
            (await db.get(Space, space.id)).federation_policy = "open"
        author = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        pau = await resident(village, "pau", census=False)  # no partnership, no verification asked
        await follow(village, city, "pau")
        space_id, item_id = await mirrored(village, f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}")
        page = await village.client.get(f"/following/{space_id}/items/{item_id}")
        assert page.has("counted there as informal") and page.has('value="support"')
        await take_part(village, space_id, item_id)
        await settle(village, city)

        assert await answers(village, pau) == [("support", "accepted", None)]
        assert await support_count(city, proposal.id) == 0  # not in the official count
        async with city.db() as db:
            assert await db.scalar(select(func.count()).select_from(InformalSupport)) == 1
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.has("And 1 informal support from residents of other nodes")
        api = await city.client.session.get(f"{city.base_url}/api/proposals/{proposal.id}")
        assert (await api.json())["informal_support_count"] == 1
        url = f"{city.base_url}/spaces/budget-2027"
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, url)
        assert report.ok and report.checked == 1, report.problems

        # Withdrawn like any support, and the recount follows.
        await take_part(village, space_id, item_id, "withdraw")
        await settle(village, city)
        async with city.db() as db:
            assert await db.scalar(select(func.count()).select_from(InformalSupport)) == 0
        async with SafeFetcher(allow_private=True) as fetcher:
            assert (await recount(fetcher, url)).ok
