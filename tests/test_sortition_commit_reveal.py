"""Draws whose seed is a commit-reveal among the host of a co-hosted space and its partner nodes
(docs/SORTITION.md §6): real nodes over HTTP, on SQLite and PostgreSQL. The partners commit and
reveal on their own; the tests only let time pass and deliver the outboxes."""
from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta

from sqlalchemy import select, update

from node.appkeys import DB
from node.cohosting.models import Partnership
from node.components.sortitions import commit_reveal, draws
from node.components.sortitions import draw as algorithm
from node.components.sortitions.models import Draw, DrawCommitment, DrawSecret
from node.components.sortitions.reveal_timer import TIMER, _fire
from node.components.sortitions.verify_command import run_verify
from node.spaces.models import Space
from tests.nodes import running_nodes
from tests.test_cohosting_partners import admin_of, answer, invite, rows
from tests.test_following import settle
from tests.test_sortition_draws import accepted, admin_base, announce, sortition_space
from tests.spaces_support import make_user


def clock(monkeypatch, moment) -> None:
    monkeypatch.setattr(draws, "now", lambda: moment)


async def co_hosted_draw_space(host, *partners):
    """The host's space with 5 accepted proposals and a sortitions component, co-hosted with
    ``partners`` through the real invitation and acceptance."""
    space, proposals, sortitions = await sortition_space(host.app)
    async with host.app[DB].begin() as db:
        (await db.get(Space, space.id)).federation_policy = "partners"
    admin = await admin_of(host, "mayor")
    author = await make_user(host.app, "amelie")
    for n in range(5):
        await accepted(host.app, space, proposals, author, admin, f"Proposal number {n}")
    for partner in partners:
        await admin_of(partner, "clerk")
        page = await invite(host, space.id, partner.base_url)
        assert "done=invited" in page.url, page.text[:2000]
        await settle(host, partner)
        [partnership] = await rows(partner, Partnership)
        assert "done=accepted" in (await answer(partner, partnership.id, "accept")).url
        await settle(host, partner)
    return space, proposals, sortitions


async def document_of(node, space, sortitions, draw_id) -> dict:
    page = await node.client.get(f"/spaces/{space.slug}/c/{sortitions.id}/draws/{draw_id}.json")
    assert page.status == 200, page.text[:2000]
    return json.loads(page.text)


def url_of(node, space, sortitions, draw_id) -> str:
    return f"{node.base_url}/spaces/{space.slug}/c/{sortitions.id}/draws/{draw_id}"


def test_commitment_and_seed_are_those_the_docs_describe():
    draw_id = "https://city.example/spaces/budget-2027/c/4/draws/1"
    secret = "ab" * 32
    assert algorithm.commitment_of(draw_id, secret) == hashlib.sha256(
        f"civicnode-draw-commit:{draw_id}:{secret}".encode()).hexdigest()
    text = algorithm.seed_input({"https://town.example/actor": None, "https://city.example/actor": secret})
    assert text == f"civicnode-draw-2\nhttps://city.example/actor {secret}\nhttps://town.example/actor -\n"
    assert algorithm.is_secret(secret) and not algorithm.is_secret(secret.upper()) and not algorithm.is_secret("ab")


async def test_host_and_partner_commit_then_reveal_and_anyone_can_verify(tmp_path, database_url_for, monkeypatch,
                                                                         capsys):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, proposals, sortitions = await co_hosted_draw_space(city, town)
        start = draws.now()
        clock(monkeypatch, start)
        page = await announce(city.client, space, sortitions, proposals, start + timedelta(hours=1),
                              seed_method="commit-reveal", **{"seed_source.en": ""})
        assert page.status == 200 and "The draw is announced" in page.text, page.text[:2000]
        assert page.has(f"{town.base_url}/actor") and page.has("Reveal deadline")
        async with city.db() as db:
            draw = await db.scalar(select(Draw))
        assert draw.seed_method == "commit-reveal"
        assert draw.participants == sorted([f"{city.base_url}/actor", f"{town.base_url}/actor"])
        assert draw.commit_deadline == draw.draw_at and draw.reveal_deadline == draw.draw_at + timedelta(hours=1)
        draw_id = url_of(city, space, sortitions, draw.id)

        # The town commits as soon as it hears of the draw; nobody there does anything.
        await settle(city, town)
        [secret] = await rows(town, DrawSecret)
        assert secret.draw_uri == draw_id and secret.revealed_at is None
        # Both nodes will reveal by themselves at the draw time.
        assert city.app[TIMER]["at"] == draw.draw_at and town.app[TIMER]["at"] == draw.draw_at
        commitments = {row.node_uri: row for row in await rows(city, DrawCommitment)}
        assert set(commitments) == set(draw.participants)
        assert commitments[f"{town.base_url}/actor"].commitment == algorithm.commitment_of(draw_id, secret.secret)
        document = await document_of(city, space, sortitions, draw.id)
        assert document["spec"] == "civicnode-draw-2" and document["status"] == "announced"
        assert [p["node"] for p in document["participants"]] == draw.participants
        assert all(p["commitment"] and p["reveal"] is None for p in document["participants"])
        assert document["commit_deadline"] < document["reveal_deadline"]

        # After the draw time: the host reveals its own secret and asks the town for its reveal.
        clock(monkeypatch, start + timedelta(hours=1, minutes=5))
        document = await document_of(city, space, sortitions, draw.id)
        assert document["status"] == "waiting_for_reveals" and document["candidates"] is not None
        await settle(city, town)
        document = await document_of(city, space, sortitions, draw.id)
        assert document["status"] == "drawn", document
        reveals = {p["node"]: p["reveal"] for p in document["participants"]}
        assert reveals[f"{town.base_url}/actor"] == secret.secret and all(reveals.values())
        assert document["missing"] == []
        expected_input = "civicnode-draw-2\n" + "".join(f"{node} {reveals[node]}\n" for node in sorted(reveals))
        assert document["seed_input"] == expected_input
        assert document["seed"] == hashlib.sha256(expected_input.encode()).hexdigest()
        assert document["result"] == algorithm.select([c["id"] for c in document["candidates"]],
                                                      document["seed"], 2)
        page = await city.client.get(f"/spaces/{space.slug}/c/{sortitions.id}/draws/{draw.id}")
        assert page.status == 200 and page.has(document["seed"]) and page.has(secret.secret)

        assert await run_verify(draw_id, allow_private=True) == 0
        assert "OK" in capsys.readouterr().out
        # No value to type in for such a draw.
        path = f"{admin_base(space, sortitions)}/{draw.id}"
        assert (await city.client.post(path, {"seed_value": "1 2 3"}, csrf_from_path=path)).status == 409

        # A reveal changed afterwards in the host's database no longer matches its commitment.
        async with city.app[DB].begin() as db:
            await db.execute(update(DrawCommitment).where(DrawCommitment.node_uri == f"{town.base_url}/actor")
                             .values(reveal="0" * 64))
        assert await run_verify(draw_id, allow_private=True) == 1
        out = capsys.readouterr().out
        assert f"MISMATCH the reveal of {town.base_url}/actor does not match its commitment" in out


async def test_a_wrong_reveal_is_refused_and_the_node_is_named_missing(tmp_path, database_url_for, monkeypatch,
                                                                       capsys):
    async with running_nodes(tmp_path, ["city", "town", "village"], database_url_for=database_url_for) as nodes:
        city, town, village = nodes["city"], nodes["town"], nodes["village"]
        space, proposals, sortitions = await co_hosted_draw_space(city, town, village)
        start = draws.now()
        clock(monkeypatch, start)
        page = await announce(city.client, space, sortitions, proposals, start + timedelta(hours=1),
                              seed_method="commit-reveal", reveal_deadline=(start + timedelta(hours=3))
                              .strftime("%Y-%m-%dT%H:%M"))
        assert page.status == 200, page.text[:2000]
        async with city.db() as db:
            draw = await db.scalar(select(Draw))
        assert len(draw.participants) == 3
        await settle(city, town, village)
        assert len(await rows(city, DrawCommitment)) == 3
        # The town's secret no longer matches what it committed to.
        async with town.app[DB].begin() as db:
            await db.execute(update(DrawSecret).values(secret="1" * 64))

        # A reveal before the draw time is refused too (the village sends it early, by hand).
        [village_secret] = await rows(village, DrawSecret)
        async with city.app[DB].begin() as db:
            assert not await commit_reveal.accept_reveal(db, draw, f"{village.base_url}/actor",
                                                         village_secret.secret, village_secret.draw_uri)

        clock(monkeypatch, start + timedelta(hours=1, minutes=1))
        # The village's timer fires at the draw time: it reveals without being asked.
        _fire(village.app)
        await asyncio.gather(*village.app[TIMER]["tasks"])
        await settle(village)
        by_node = {row.node_uri: row for row in await rows(city, DrawCommitment)}
        assert by_node[f"{village.base_url}/actor"].reveal == village_secret.secret
        # The host's step reveals its own secret and asks the others, without waiting for a page view.
        assert await commit_reveal.reveal_due(city.app) == 1
        await settle(city, town, village)
        by_node = {row.node_uri: row for row in await rows(city, DrawCommitment)}
        assert by_node[f"{town.base_url}/actor"].reveal is None  # refused: it does not match
        assert by_node[f"{village.base_url}/actor"].reveal == village_secret.secret
        assert by_node[f"{city.base_url}/actor"].reveal is not None
        document = await document_of(city, space, sortitions, draw.id)
        assert document["status"] == "waiting_for_reveals"
        assert all(p["reveal"] is None for p in document["participants"])  # none shown before the draw

        # At the reveal deadline the draw proceeds with the reveals received; the town is named.
        clock(monkeypatch, start + timedelta(hours=3))
        document = await document_of(city, space, sortitions, draw.id)
        assert document["status"] == "drawn" and document["missing"] == [f"{town.base_url}/actor"]
        assert f"{town.base_url}/actor -\n" in document["seed_input"]
        page = await city.client.get(f"/spaces/{space.slug}/c/{sortitions.id}/draws/{draw.id}")
        assert page.has("Missing: no valid reveal by the deadline") and page.has(f"{town.base_url}/actor")
        assert await run_verify(url_of(city, space, sortitions, draw.id), allow_private=True) == 0
        assert "1 missing" in capsys.readouterr().out


async def test_commit_reveal_needs_an_active_partner(tmp_path, database_url_for, monkeypatch):
    async with running_nodes(tmp_path, ["city"], database_url_for=database_url_for) as nodes:
        city = nodes["city"]
        space, proposals, sortitions = await sortition_space(city.app)
        await admin_of(city, "mayor")
        page = await announce(city.client, space, sortitions, proposals, draws.now() + timedelta(hours=1),
                              seed_method="commit-reveal")
        assert page.status == 409 and page.has("needs at least one active partner node")
        page = await announce(city.client, space, sortitions, proposals, draws.now() + timedelta(hours=1),
                              seed_method="dice")
        assert page.status == 422 and page.has("Choose where the draw")
        assert await rows(city, Draw) == []
