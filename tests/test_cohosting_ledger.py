"""The hash chain over a space's public records and its signed heads (node.cohosting.ledger):
two real nodes over HTTP, SQLite and PostgreSQL.

A recount alone catches a record removed or changed in the middle of the chain. A host that
covers its tracks (removes a record, re-hashes the chain, signs a new head) is caught only by a
head it signed earlier and that another node kept: the partner node keeps the head sent with
each answer to its residents, and ``civicnode recount --witness`` compares.
"""
from __future__ import annotations

import asyncio

from sqlalchemy import delete, select, update

from federation.fetch import SafeFetcher
from federation.proofs import verify_proof
from node.activitypub import uris
from node.appkeys import DB
from node.cohosting.ledger import ZERO, leaf_hash, link, published, verify_chain
from node.cohosting.models import ParticipationRecord, RecordsHead, WitnessedHead
from node.cohosting.recount import recount
from node.cohosting.recount_command import run_recount
from node.components.proposals.models import Proposal, Support
from node.keystore import ensure_node_keys
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_cohosting_participation import (
    follow, mirrored, partners, resident, support_count, take_part,
)
from tests.test_following import settle


async def support_locally(city, name: str, proposal) -> None:
    await make_user(city.app, name)
    await city.client.login(name, PASSWORD)
    path = f"/spaces/budget-2027/proposals/{proposal.id}"
    page = await city.client.post(f"{path}/support", {}, csrf_from_path=path)
    assert page.status == 200


async def records_of(city) -> list[dict]:
    response = await city.client.session.get(f"{city.base_url}/spaces/budget-2027/records",
                                             headers={"Accept": "application/activity+json"})
    assert response.status == 200
    return (await response.json())["orderedItems"]


async def rechain(city, space_id: int) -> None:
    """What a host covering its tracks would do: re-hash every record and the head."""
    async with city.app[DB].begin() as db:
        records = (await db.scalars(select(ParticipationRecord).where(ParticipationRecord.space_id == space_id)
                                    .order_by(ParticipationRecord.sequence))).all()
        chain = ZERO
        for n, record in enumerate(records, 1):
            record.sequence = -n  # out of the way of the (space, sequence) constraint first
        await db.flush()
        for n, record in enumerate(records, 1):
            chain = link(chain, leaf_hash(published(record)))
            record.sequence, record.chain_hash = n, chain
        await db.execute(update(RecordsHead).where(RecordsHead.space_id == space_id)
                         .values(size=len(records), chain_hash=chain))


async def test_records_are_chained_and_their_head_is_signed(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027", supports_enabled=True)
        author = await make_user(city.app, "amelie")
        trees = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        await partners(city, town, space)
        await resident(town, "jordi")
        await follow(town, city, "jordi")
        await support_locally(city, "bernat", trees)
        await town.client.login("jordi", PASSWORD)
        space_id, item_id = await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{trees.id}")
        await take_part(town, space_id, item_id)
        await settle(town, city)
        assert await support_count(city, trees.id) == 2

        items = await records_of(city)
        assert [item["sequence"] for item in items] == [1, 2]
        assert verify_chain(items) == (2, items[-1]["chainHash"], None)
        response = await city.client.session.get(f"{city.base_url}/spaces/budget-2027/records/head",
                                                 headers={"Accept": "application/activity+json"})
        head = await response.json()
        assert head["type"] == "RecordsHead" and (head["totalItems"], head["chainHash"]) == (2, items[-1]["chainHash"])
        async with city.app[DB]() as db:
            key = await ensure_node_keys(db)
        assert head["proof"]["verificationMethod"].startswith(uris.node_actor(city.base_url) + "#")
        assert verify_proof(head, lambda method: key.ed25519_public_multibase) == head["proof"]["verificationMethod"]

        # The town kept the head the city sent with its answer to jordi, and publishes it.
        group = uris.space_actor(city.base_url, "budget-2027")
        async with town.db() as db:
            witnessed = (await db.scalars(select(WitnessedHead))).all()
        assert [(w.space_uri, w.size, w.chain_hash) for w in witnessed] == [(group, 2, items[-1]["chainHash"])]
        response = await town.client.session.get(f"{town.base_url}/witnessed-heads", params={"space": group})
        assert [h["totalItems"] for h in (await response.json())["orderedItems"]] == [2]
        response = await town.client.session.get(f"{town.base_url}/witnessed-heads", params={"space": "nothing"})
        assert response.status == 400

        url = f"{city.base_url}/spaces/budget-2027"
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, url, (town.base_url,))
        assert report.ok, report.problems


async def test_concurrent_supports_take_consecutive_places(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city"], database_url_for=database_url_for) as nodes:
        city = nodes["city"]
        space, component, _ = await space_with_component(city.app, "budget-2027", supports_enabled=True)
        author = await make_user(city.app, "amelie")
        proposals = [await make_proposal(city.app, space, component, author, title=f"Idea number {n}")
                     for n in range(4)]
        from node.components.proposals.supports import add_support
        from node.cohosting.records import record_local
        people = [await make_user(city.app, f"person{n}") for n in range(12)]

        async def support(person, proposal):
            async with city.app[DB].begin() as db:
                await add_support(db, proposal.id, person, None)
                await record_local(db, base_url=city.base_url, space_id=space.id, space_slug=space.slug,
                                   proposal_id=proposal.id, user=person, kind="support")

        await asyncio.gather(*(support(person, proposal) for person in people for proposal in proposals))
        items = await records_of(city)
        assert [item["sequence"] for item in items] == list(range(1, 49))
        assert verify_chain(items)[2] is None


async def test_a_rewritten_history_is_caught_by_a_partners_witness(tmp_path, database_url_for, capsys):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027", supports_enabled=True)
        author = await make_user(city.app, "amelie")
        trees = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        await partners(city, town, space)
        await resident(town, "jordi")
        await follow(town, city, "jordi")
        await support_locally(city, "bernat", trees)
        await support_locally(city, "carla", trees)
        await town.client.login("jordi", PASSWORD)
        space_id, item_id = await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{trees.id}")
        await take_part(town, space_id, item_id)
        await settle(town, city)
        url = f"{city.base_url}/spaces/budget-2027"
        assert await run_recount(url, allow_private=True, witnesses=(town.base_url,)) == 0
        capsys.readouterr()

        # Clumsy: carla's record (the 2nd of 3) is deleted, her support with it. The chain breaks.
        async with city.app[DB].begin() as db:
            carla = await db.scalar(select(ParticipationRecord).where(ParticipationRecord.sequence == 2))
            await db.execute(delete(ParticipationRecord).where(ParticipationRecord.id == carla.id))
            await db.execute(delete(Support).where(Support.proposal_id == trees.id, Support.user_id.is_not(None),
                                                   Support.id == (await db.scalar(
                                                       select(Support.id).where(Support.proposal_id == trees.id)
                                                       .order_by(Support.id.desc()).limit(1).offset(1)))))
            (await db.get(Proposal, trees.id)).support_count = 2
        assert await run_recount(url, allow_private=True) == 1
        assert "MISMATCH the chain of records breaks: record 2 is missing" in capsys.readouterr().out

        # Careful: the chain re-hashed and a new head signed. The records alone now agree...
        await rechain(city, space.id)
        assert await run_recount(url, allow_private=True) == 0
        capsys.readouterr()
        # ...but the town holds the head of 3 records the city signed before.
        assert await run_recount(url, allow_private=True, witnesses=(town.base_url,)) == 1
        out = capsys.readouterr().out
        assert "says 3 records, the host publishes 2: records were removed" in out

        # A record changed in place (its reception time) and everything re-hashed: caught too.
        await take_part(town, space_id, item_id, "withdraw")
        await settle(town, city)  # the town now witnesses a head of 3 records over the new history
        async with city.app[DB].begin() as db:
            first = await db.scalar(select(ParticipationRecord).where(ParticipationRecord.sequence == 1))
            first.received_at = first.received_at.replace(year=2020)
        await rechain(city, space.id)
        assert await run_recount(url, allow_private=True, witnesses=(town.base_url,)) == 1
        assert "does not match the published records: the history was rewritten" in capsys.readouterr().out
