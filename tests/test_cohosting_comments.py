"""Remote comments in a co-hosted space: real nodes over HTTP, SQLite and PostgreSQL.

The city hosts "budget-2027" with the town as partner (census-verified residents). A town
resident comments on a city proposal from the town's mirror, and replies to a comment there: the
town sends a Create{Note} signed by the resident with its attestation; the city checks them and
the comments' own rules, publishes the comment under the resident's name and node, keeps the
record, and answers; the comment comes back to the town's mirror. Refusals come back with their
reason; an ordinary fediverse reply (no attestation) is ignored.
"""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from federation.vocab import id_of

from node.activitypub import uris
from node.activitypub.delivery_models import OutboxActivity
from node.activitypub.follow_models import RemoteItem
from node.activitypub.models import InboxActivity
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.cohosting import home
from node.cohosting.attestation import unsigned_attestation
from node.cohosting.models import OutgoingParticipation, ParticipationRecord, RemoteParticipant
from node.components.comments.models import Comment
from node.components.proposals.models import Proposal
from node.db.base import utcnow
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_cohosting_participation import answers, follow, mirrored, partners, resident
from tests.test_following import comment_on, settle


async def send(node, space_id: int, item_id: int, body: str, **fields):
    path = f"/following/{space_id}/items/{item_id}"
    return await node.client.post(f"{path}/comment", {"body": body, **fields}, csrf_from_path=path)


async def mirror_id(node, uri: str) -> int:
    async with node.db() as db:
        return await db.scalar(select(RemoteItem.id).where(RemoteItem.uri == uri))


async def city_comments(city) -> list[Comment]:
    async with city.db() as db:
        return list(await db.scalars(select(Comment).order_by(Comment.id)))


async def test_a_partner_resident_comments_and_replies_from_home(tmp_path, database_url_for):
    from federation.fetch import SafeFetcher
    from node.cohosting.recount import recount

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        amelie = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, amelie, title="Shade trees in the school yard")
        local = await comment_on(city.app, proposal.id, amelie, "Which trees, though?")
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        await follow(town, city, "jordi")
        uri = f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}"
        space_id, item_id = await mirrored(town, uri)
        page_path = f"/following/{space_id}/items/{item_id}"

        page = await town.client.get(page_path)
        assert page.has(f'action="{page_path}/comment"') and page.has('name="parent"')
        page = await send(town, space_id, item_id, "Yes, **shade** for the children.", alignment="against")
        assert page.status == 200 and page.has("Your comment was sent to")
        await settle(town, city)

        [_, comment] = await city_comments(city)
        assert (comment.author_id, comment.body, comment.alignment, comment.depth) == \
            (None, "Yes, **shade** for the children.", "against", 0)
        person = uris.user_actor(town.base_url, "jordi")
        async with city.db() as db:
            participant = await db.get(RemoteParticipant, comment.remote_participant_id)
            assert (await db.get(Proposal, proposal.id)).comments_count == 2
        assert (participant.actor_uri, participant.display_name, participant.home_host) == (person, "Jordi", town.host)
        # On the city's page: their name and node, linked to their actor; the text rendered here.
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.has(f'<a href="{person}" rel="nofollow noopener" class="remote-author">Jordi '
                        f'<span class="remote-host">({town.host})</span></a>')
        assert page.has("<strong>shade</strong>")
        # The kept HTML of the comment changes with the name (it is part of its key).
        async with city.app[DB].begin() as db:
            (await db.get(RemoteParticipant, participant.id)).display_name = "Jordi Puig"
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.has('class="remote-author">Jordi Puig <span') and not page.has('class="remote-author">Jordi <span')
        # The evidence: what the resident sent, in the space's public records.
        async with city.client.session.get(f"{city.base_url}/spaces/budget-2027/records") as response:
            [record] = [r for r in (await response.json(content_type=None))["orderedItems"] if r["kind"] == "comment"]
        assert record["answer"] == "accepted" and record["activity"]["type"] == "Create"
        assert record["activity"]["object"]["inReplyTo"] == uri
        assert record["activity"]["proof"]["verificationMethod"].startswith(f"{person}#")
        assert record["activity"]["attestation"]["proof"]["verificationMethod"].startswith(f"{town.base_url}/actor#")

        # Back home: the answer, and the comment in the mirrored thread, under the resident's name.
        assert await answers(town, jordi) == [("comment", "accepted", None)]
        comment_uri = f"{city.base_url}/comments/{comment.id}"
        async with town.db() as db:
            back = await db.scalar(select(RemoteItem).where(RemoteItem.uri == comment_uri))
        assert (back.attributed_to, back.in_reply_to, back.alignment) == (person, uri, "against")
        page = await town.client.get(page_path)
        assert page.has("Your comment is published by") and page.has(f'href="#remote-comment-{back.id}"')
        assert page.has(f"jordi@{town.host}") and page.has(f"amelie@{city.host}")

        # A reply to the city resident's comment, mirrored at the town.
        parent = await mirror_id(town, f"{city.base_url}/comments/{local.id}")
        page = await send(town, space_id, item_id, "Plane trees, as on the avenue.", parent=str(parent))
        assert page.status == 200
        await settle(town, city)
        reply = (await city_comments(city))[-1]
        assert (reply.parent_id, reply.depth, reply.remote_participant_id, reply.alignment) == \
            (local.id, 1, participant.id, "neutral")
        assert (await answers(town, jordi))[-1] == ("comment", "accepted", None)
        async with town.db() as db:
            mirrored_reply = await db.scalar(select(RemoteItem).where(
                RemoteItem.uri == f"{city.base_url}/comments/{reply.id}"))
        assert mirrored_reply.in_reply_to == f"{city.base_url}/comments/{local.id}"

        # Comments are evidence, not counts: the recount checks their signatures and still agrees.
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, f"{city.base_url}/spaces/budget-2027")
        assert report.ok, report.problems
        assert (report.records, report.checked) == (2, 2)


async def test_refusals_come_back_with_their_reason_and_plain_replies_are_ignored(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town", "village"], database_url_for=database_url_for) as nodes:
        city, town, village = nodes["city"], nodes["town"], nodes["village"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        amelie = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, amelie, title="Shade trees in the school yard")
        withdrawn = await make_proposal(city.app, space, component, amelie, title="Benches on the square")
        # A thread as deep as proposals' comments go (depth 3).
        deepest = None
        for text in ("One", "Two", "Three", "Four"):
            deepest = await comment_on(city.app, proposal.id, amelie, text, deepest.id if deepest else None)
        assert deepest.depth == 3
        uri = f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}"
        group = uris.space_actor(city.base_url, "budget-2027")
        await partners(city, town, space)
        await partners(city, village, space, host_side=False)  # the village believes it is a partner
        jordi = await resident(town, "jordi")
        await resident(town, "nuria", census=False)
        pau = await resident(village, "pau")
        await follow(town, city, "jordi")
        await follow(village, city, "pau")
        space_id, item_id = await mirrored(town, uri)
        page_path = f"/following/{space_id}/items/{item_id}"

        # Refused at home, before anything is sent: no verification, no text, a parent elsewhere.
        await town.client.login("nuria", PASSWORD)
        page = await town.client.get(page_path)
        assert page.has("to comment on this proposal") and not page.has(f'action="{page_path}/comment"')
        page = await send(town, space_id, item_id, "Let me in")
        assert page.status == 403 and page.has("Residence (municipal census)")
        await town.client.login("jordi", PASSWORD)
        page = await send(town, space_id, item_id, "   ")
        assert page.status == 422 and page.has("Write something before sending your comment.")
        other_space, other_item = await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{withdrawn.id}")
        page = await send(town, space_id, item_id, "Elsewhere", parent=str(other_item))
        assert page.status == 404 and page.has("is not one of this proposal")
        page = await send(town, space_id, item_id, "Bad parent", parent="x1")
        assert page.status == 404
        assert await answers(town, jordi) == []

        # Not a partner: the city refuses the village's resident, who is told why.
        village_space, village_item = await mirrored(village, uri)
        await village.client.login("pau", PASSWORD)
        await send(village, village_space, village_item, "From the village")
        await settle(village, city)
        assert await answers(village, pau) == [("comment", "rejected", "not_partner")]
        page = await village.client.get(f"/following/{village_space}/items/{village_item}")
        assert page.has("did not publish your comment: Your node is not a partner of this consultation")

        # A reply beyond the deepest level the host allows.
        await send(town, space_id, item_id, "Five", parent=str(await mirror_id(town, f"{city.base_url}/comments/{deepest.id}")))
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("comment", "rejected", "reply_too_deep")
        page = await town.client.get(page_path)
        assert page.has("did not publish your comment: Replies cannot be nested that deep there")

        # Comments closed: the proposal was withdrawn on the city meanwhile.
        async with city.app[DB].begin() as db:
            (await db.get(Proposal, withdrawn.id)).state = "withdrawn"
        await send(town, other_space, other_item, "Too late?")
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("comment", "rejected", "comments_closed")
        page = await town.client.get(f"/following/{other_space}/items/{other_item}")
        assert page.has("did not publish your comment: Comments are closed on this proposal.")

        # A forged attestation (signed by the resident, not by their node).
        person = uris.user_actor(town.base_url, "jordi")

        async def crafted(attestation: dict | None) -> str:
            note = {"id": f"{person}/comments/{uuid.uuid4()}", "type": "Note", "attributedTo": person,
                    "inReplyTo": uri, "content": "Crafted", "mediaType": "text/markdown", "to": [group]}
            activity = {"@context": home._context(), "id": f"{person}/participations/{uuid.uuid4()}",
                        "type": "Create", "actor": person, "object": note, "to": [group]}
            if attestation is not None:
                activity["attestation"] = attestation
            async with town.app[DB].begin() as db:
                signed = await home._signed(db, "user", jordi.id, person, activity)
                db.add(OutgoingParticipation(user_id=jordi.id, space_uri=group, object_uri=uri, kind="comment",
                                             activity_id=signed["id"], activity=signed))
                await enqueue(db, actor_type="user", actor_id=jordi.id, activity=signed, inboxes=[f"{group}/inbox"])
            return signed["id"]

        async with town.app[DB].begin() as db:
            forged = await home._signed(db, "user", jordi.id, person, unsigned_attestation(
                node_actor=uris.node_actor(town.base_url), resident=person, space=group, authorisation="census",
                now=utcnow()))
        await crafted(forged)
        # An ordinary fediverse reply to the proposal: no attestation, so not a participation.
        plain = await crafted(None)
        await settle(town, city)
        assert [a[1:] for a in await answers(town, jordi)][-2:] == [("rejected", "attestation_forged"), ("pending", None)]
        async with city.db() as db:
            assert await db.scalar(select(func.count()).select_from(Comment).where(
                Comment.remote_participant_id.is_not(None))) == 0
            kept = list(await db.scalars(select(ParticipationRecord.reason).order_by(ParticipationRecord.sequence)))
            answered = [id_of(row.body["object"]) for row in await db.scalars(
                select(OutboxActivity).where(OutboxActivity.activity_type.in_(("Accept", "Reject")),
                                             OutboxActivity.actor_type == "space"))]
            received = await db.scalar(select(InboxActivity.status).where(InboxActivity.activity_id == plain))
        # Refusals after the attestation held are kept as records; the forged one names nobody.
        assert kept == ["not_partner", "reply_too_deep", "comments_closed"]
        # Not attested: stored as "ignored", no handler even dispatched (node.cohosting.routes).
        assert plain not in answered and received == "ignored"
