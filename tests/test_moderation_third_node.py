"""Reports on content written on a third node, with three real nodes over HTTP, on SQLite and on
PostgreSQL. The city hosts "budget-2027", co-hosted with the town; the collective follows it.

- Jordi, a town resident, comments on a city proposal from the town. A collective resident
  reports that comment in the collective's mirror: one Flag goes to the city (the host, which can
  hide it in its space) and to the town (Jordi's node, which sees the report on its copy).
- A collective proposal is shared into the budget. A town resident reports the city's copy in
  the town's mirror: the Flag goes to the city (its copy) and to the collective (its proposal).
"""
from __future__ import annotations

import uuid

from aiohttp import ClientSession
from sqlalchemy import select

from node.accounts.models import User
from node.activitypub import uris
from node.activitypub.delivery_models import Delivery, OutboxActivity
from node.activitypub.follow_models import RemoteItem
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.cohosting import shared
from node.cohosting.models import ProposalOffer
from node.components.comments.models import Comment
from node.components.proposals.models import Proposal
from node.moderation.models import REMOTE_SUBJECT, Moderation, Report
from tests.nodes import running_nodes, signed_get, status_of
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import make_user
from tests.test_cohosting_comments import send
from tests.test_cohosting_participation import follow, mirrored, partners, resident
from tests.test_federated_moderation import report
from tests.test_federated_moderation import resident as browser
from tests.test_following import settle


async def flags(node) -> list[tuple[dict, set[str]]]:
    """Flags the node sent, each with the inboxes it was delivered to."""
    async with node.db() as db:
        rows = list(await db.scalars(select(OutboxActivity).where(OutboxActivity.activity_type == "Flag")
                                     .order_by(OutboxActivity.id)))
        return [(row.body, set(await db.scalars(select(Delivery.inbox_url).where(Delivery.outbox_activity_id == row.id))))
                for row in rows]


async def reports(node) -> list[tuple[str, int, str | None]]:
    async with node.db() as db:
        rows = (await db.execute(select(Moderation.subject_type, Moderation.subject_id, Report.reporter_node)
                                 .join(Report, Report.moderation_id == Moderation.id).order_by(Report.id))).all()
    return [tuple(row) for row in rows]


async def queue_of(node, username: str):
    async with browser(node, username, role="moderator") as moderator:
        return await moderator.get("/moderation")


async def test_reports_reach_the_host_and_the_node_the_content_was_written_on(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town", "collective"], database_url_for=database_url_for) as nodes:
        city, town, collective = nodes["city"], nodes["town"], nodes["collective"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        amelie = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, amelie, title="Shade trees in the school yard")
        await partners(city, town, space)
        await resident(town, "jordi")
        await follow(town, city, "jordi")
        await settle(town, city)
        space_id, item_id = await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}")
        assert (await send(town, space_id, item_id, "Whoever wants shade is an idiot.")).status == 200
        await settle(town, city)
        async with city.db() as db:
            comment = await db.scalar(select(Comment).where(Comment.remote_participant_id.is_not(None)))
        comment_uri = f"{city.base_url}/comments/{comment.id}"
        await settle(city, town)

        # The collective (no partner of the city's) follows the budget and reports Jordi's comment.
        await resident(collective, "lucie")
        await follow(collective, city, "lucie")
        await settle(collective, city)
        await settle(city, collective)
        _, copy_id = await mirrored(collective, comment_uri)
        sent = await report(collective.client, copy_id, "offensive", "Insults people")
        assert sent.status == 200 and sent.has(city.host) and sent.has(town.host)
        [(flag, inboxes)] = await flags(collective)
        assert flag["object"] == [comment_uri]
        assert flag["to"] == [uris.node_actor(city.base_url), uris.node_actor(town.base_url)]
        assert inboxes == {f"{city.base_url}/inbox", f"{town.base_url}/inbox"}
        await settle(collective, city, town)
        # Both addressees can read it at its id, as delivered; nobody else can.
        assert flag["id"].startswith(f"{collective.base_url}/actor/flags/")
        assert await signed_get(city, flag["id"]) == flag and await signed_get(town, flag["id"]) == flag
        assert await status_of(collective, flag["id"]) == 404
        async with ClientSession() as session:
            async with session.get(flag["id"], headers={"Accept": "application/activity+json"}) as response:
                assert response.status == 401

        node = uris.node_actor(collective.base_url)
        # Jordi's node: a report on its copy of his comment, in its moderators' queue.
        _, town_copy = await mirrored(town, comment_uri)
        assert await reports(town) == [(REMOTE_SUBJECT, town_copy, node)]
        queue = await queue_of(town, "tom")
        assert queue.has("Whoever wants shade") and queue.has(f"Node {collective.host}")
        assert queue.has(f"Content of {city.host}, another node")
        # The host: a report by the collective's node, in its queue; it hides the comment in its space
        # (its Delete then reaches the mirrors).
        assert await reports(city) == [("comment", comment.id, node)]
        async with browser(city, "mona", role="moderator") as mona:
            queue = await mona.get("/moderation")
            assert queue.has("Whoever wants shade") and queue.has(f"Node {collective.host}")
            done = await mona.post("/moderation/hide", {"subject_type": "comment", "subject_id": str(comment.id),
                                                        "reason": "Insults"}, csrf_from_path="/moderation")
            assert done.status == 200
        async with city.db() as db:
            assert (await db.scalar(select(Moderation))).hidden
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.status == 200 and page.has("Shade trees") and not page.has("Whoever wants shade")

        # A Flag naming the town's copy of something no town resident wrote changes nothing there.
        async with town.db() as db:
            others = await db.scalar(select(RemoteItem.uri).where(RemoteItem.attributed_to.not_like(
                f"{town.base_url}/%")))
        activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{node}/flags/{uuid.uuid4()}",
                    "type": "Flag", "actor": node, "object": [others], "to": [uris.node_actor(town.base_url)]}
        async with collective.app[DB].begin() as db:
            await enqueue(db, actor_type="node", actor_id=0, activity=activity, inboxes=[f"{town.base_url}/inbox"])
        await settle(collective, town)
        assert len(await reports(town)) == 1

        # A collective proposal shared into the budget, reported in the town's mirror.
        assembly, assembly_proposals, _ = await space_with_component(collective.app, "assembly")
        async with collective.db() as db:
            lucie = await db.scalar(select(User).where(User.username == "lucie"))
        original = await make_proposal(collective.app, assembly, assembly_proposals, lucie,
                                       title="Secure bike parking at every school")
        await shared.offer(collective.app, lucie, original.id, f"budget-2027@{city.host}")
        await settle(collective, city)
        mayor = await make_user(city.app, "mayor", role="admin")
        async with city.db() as db:
            offer_id = await db.scalar(select(ProposalOffer.id))
        await shared.answer_offer(city.app, mayor, offer_id, True, component.id)
        await settle(city, collective, town)
        async with city.db() as db:
            copy = await db.scalar(select(Proposal).where(Proposal.origin_uri.is_not(None)))
        copy_uri = f"{city.base_url}/spaces/budget-2027/proposals/{copy.id}"
        origin_uri = f"{collective.base_url}/spaces/assembly/proposals/{original.id}"
        assert copy.origin_uri == origin_uri
        _, town_item = await mirrored(town, copy_uri)
        async with browser(town, "kim") as kim:
            assert (await report(kim, town_item, "spam")).status == 200
        [(flag, inboxes)] = await flags(town)
        assert flag["object"] == [copy_uri, origin_uri]
        assert flag["to"] == [uris.node_actor(city.base_url), uris.node_actor(collective.base_url)]
        assert inboxes == {f"{city.base_url}/inbox", f"{collective.base_url}/inbox"}
        await settle(town, city, collective)
        town_node = uris.node_actor(town.base_url)
        assert ("proposal", copy.id, town_node) in await reports(city)
        # (The collective's other report is Lucie's, on its copy of Jordi's comment.)
        assert [r for r in await reports(collective) if r[0] == "proposal"] == [("proposal", original.id, town_node)]
        queue = await queue_of(collective, "cleo")
        assert queue.has("Secure bike parking") and queue.has(f"Node {town.host}")
