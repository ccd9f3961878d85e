"""Remote proposals in a co-hosted space: real nodes over HTTP, SQLite and PostgreSQL.

The city hosts "budget-2027" with the town as partner (census-verified residents). A town
resident writes a proposal from the space's mirror at the town: the town sends a Create{Article}
signed by the resident with its attestation; the city checks them and the proposals' own rules,
publishes the proposal under the resident's name and node, keeps the record, and answers with the
new proposal's address; the proposal comes back to the town's mirror. Refusals come back with
their reason; an Article without attestation is ignored.
"""
from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from federation.vocab import id_of
from node.activitypub import uris
from node.activitypub.delivery_models import OutboxActivity
from node.activitypub.follow_models import RemoteItem, RemoteSpace
from node.activitypub.models import InboxActivity
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.cohosting import home
from node.cohosting.attestation import unsigned_attestation
from node.cohosting.models import OutgoingParticipation, ParticipationRecord, RemoteParticipant
from node.components.proposals.models import Proposal, ProposalVersion
from node.db.base import utcnow
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_component, set_settings, space_with_component
from tests.spaces_support import PASSWORD
from tests.test_cohosting_participation import answers, follow, partners, resident
from tests.test_following import settle


TITLE = "Covered bike parking at the station"
BODY = "Room for **two hundred** bikes, locked and lit at night."


async def mirror_of(node, group: str) -> int:
    async with node.db() as db:
        return await db.scalar(select(RemoteSpace.id).where(RemoteSpace.uri == group))


async def propose(node, space_id: int, title: str = TITLE, body: str = BODY):
    path = f"/following/{space_id}"
    return await node.client.post(f"{path}/propose", {"title": title, "body": body}, csrf_from_path=path)


async def crafted(town, user, group: str, attestation, **extra) -> str:
    """What a misbehaving (or newer) home node could send, signed by the resident as sent:
    ``attestation`` "valid" (made by the town for the space), a document, or None (left out)."""
    person = uris.user_actor(town.base_url, user.username)
    article = {"id": f"{person}/proposals/{uuid.uuid4()}", "type": "Article", "attributedTo": person,
               "name": TITLE, "content": BODY, "mediaType": "text/markdown", "audience": group, "to": [group]}
    activity = {"@context": home._context(), "id": f"{person}/participations/{uuid.uuid4()}",
                "type": "Create", "actor": person, "object": article, "audience": group, "to": [group], **extra}
    async with town.app[DB].begin() as db:
        if attestation == "valid":
            attestation = await home._attestation(db, town.base_url, user, group, {"authorisations": ["census"]})
        if attestation is not None:
            activity["attestation"] = attestation
        signed = await home._signed(db, "user", user.id, person, activity)
        db.add(OutgoingParticipation(user_id=user.id, space_uri=group, object_uri=group, kind="proposal",
                                     activity_id=signed["id"], activity=signed))
        await enqueue(db, actor_type="user", actor_id=user.id, activity=signed, inboxes=[f"{group}/inbox"])
    return signed["id"]


async def remote_proposals(city) -> list[Proposal]:
    async with city.db() as db:
        return list(await db.scalars(select(Proposal).where(Proposal.remote_participant_id.is_not(None))
                                     .order_by(Proposal.id)))


async def test_a_partner_resident_proposes_from_home(tmp_path, database_url_for):
    from federation.fetch import SafeFetcher
    from node.cohosting.recount import recount

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        # The first proposals component takes no new proposals: the second one receives it.
        space, closed, _ = await space_with_component(city.app, "budget-2027", creation_enabled=False)
        component = await make_component(city.app, space)
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        await follow(town, city, "jordi")
        group = uris.space_actor(city.base_url, "budget-2027")
        space_id = await mirror_of(town, group)
        person = uris.user_actor(town.base_url, "jordi")

        page = await town.client.get(f"/following/{space_id}")
        assert page.has("Propose from this node") and page.has(f'action="/following/{space_id}/propose"')
        assert page.has('<label for="remote-proposal-title">')
        page = await propose(town, space_id)
        assert page.status == 200 and page.has("Your proposal was sent to") and page.has(TITLE)
        await settle(town, city)

        # On the city: the resident's proposal, in the component that accepts proposals.
        [proposal] = await remote_proposals(city)
        assert (proposal.component_id, proposal.author_id, proposal.title, proposal.body) == \
            (component.id, None, TITLE, BODY)
        async with city.db() as db:
            participant = await db.get(RemoteParticipant, proposal.remote_participant_id)
            version = await db.scalar(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id))
        assert (participant.actor_uri, participant.display_name, participant.home_host) == (person, "Jordi", town.host)
        # Its fingerprinted version names the resident's actor as author.
        assert json.loads(version.canonical_json)["author"] == person and proposal.origin_author_uri == person
        assert proposal.origin_uri is None
        url = f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}"
        author_link = (f'<a href="{person}" rel="nofollow noopener" class="remote-author">Jordi '
                       f'<span class="remote-host">({town.host})</span></a>')
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.has(author_link) and page.has("<strong>two hundred</strong>")
        listing = f"/spaces/budget-2027/c/{component.id}"
        page = await city.client.get(listing)
        assert page.has(author_link) and page.has(TITLE)
        # The card's kept HTML changes with the name (the row is its key).
        async with city.app[DB].begin() as db:
            (await db.get(RemoteParticipant, participant.id)).display_name = "Jordi Puig"
        page = await city.client.get(listing)
        assert page.has('class="remote-author">Jordi Puig <span') and not page.has('class="remote-author">Jordi <span')
        api = await city.client.session.get(f"{city.base_url}/api/proposals/{proposal.id}")
        assert (await api.json())["author"] == {"id": person, "name": "Jordi Puig", "node": town.host, "remote": True}

        # The evidence: what the resident sent, in the space's public records.
        async with city.client.session.get(f"{city.base_url}/spaces/budget-2027/records") as response:
            [record] = (await response.json(content_type=None))["orderedItems"]
        assert (record["kind"], record["answer"], record["activity"]["object"]["type"]) == \
            ("proposal", "accepted", "Article")
        assert record["activity"]["proof"]["verificationMethod"].startswith(f"{person}#")
        assert record["activity"]["attestation"]["proof"]["verificationMethod"].startswith(f"{town.base_url}/actor#")

        # Back home: accepted, with the new proposal's address, mirrored under the resident's name.
        assert await answers(town, jordi) == [("proposal", "accepted", None)]
        async with town.db() as db:
            sent = await db.scalar(select(OutgoingParticipation).where(OutgoingParticipation.user_id == jordi.id))
            back = await db.scalar(select(RemoteItem).where(RemoteItem.uri == url))
        assert sent.result_uri == url
        assert (back.kind, back.attributed_to, back.name, back.remote_space_id) == ("proposal", person, TITLE, space_id)
        page = await town.client.get(f"/following/{space_id}")
        assert page.has("Your proposal is published by") and page.has(f'href="/following/{space_id}/items/{back.id}"')

        # Proposals are evidence, not counts: the recount checks their signatures and agrees.
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, group)
        assert report.ok, report.problems
        assert (report.records, report.checked) == (1, 1)

        # A home node may name the component (``target``): one that takes no proposals refuses it.
        await crafted(town, jordi, group, "valid", target=f"{group}/c/{closed.id}")
        await crafted(town, jordi, group, "valid", target=f"{group}/c/{component.id}")
        await settle(town, city)
        assert [a[1:] for a in await answers(town, jordi)][1:] == [("rejected", "proposals_closed"), ("accepted", None)]
        assert [p.component_id for p in await remote_proposals(city)] == [component.id, component.id]


async def test_refusals_come_back_with_their_reason_and_articles_without_attestation_are_ignored(
        tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town", "village"], database_url_for=database_url_for) as nodes:
        city, town, village = nodes["city"], nodes["town"], nodes["village"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        group = uris.space_actor(city.base_url, "budget-2027")
        await partners(city, town, space)
        await partners(city, village, space, host_side=False)  # the village believes it is a partner
        jordi = await resident(town, "jordi")
        await resident(town, "nuria", census=False)
        pau = await resident(village, "pau")
        await follow(town, city, "jordi")
        await follow(village, city, "pau")
        space_id = await mirror_of(town, group)

        # Refused at home, before anything is sent: no verification, no text, too long a title.
        await town.client.login("nuria", PASSWORD)
        page = await town.client.get(f"/following/{space_id}")
        assert page.has("to make a proposal") and not page.has(f'action="/following/{space_id}/propose"')
        page = await propose(town, space_id)
        assert page.status == 403 and page.has("Residence (municipal census)")
        await town.client.login("jordi", PASSWORD)
        page = await propose(town, space_id, title="  ")
        assert page.status == 422 and page.has("Write a title and the text of your proposal")
        page = await propose(town, space_id, title="x" * 201)
        assert page.status == 422 and page.has("at most 200 characters")
        page = await town.client.post("/following/x1/propose", {"title": TITLE, "body": BODY},
                                      csrf_from_path=f"/following/{space_id}")
        assert page.status == 404
        assert await answers(town, jordi) == []

        # Not a partner: the city refuses the village's resident, who is told why.
        village_space = await mirror_of(village, group)
        await village.client.login("pau", PASSWORD)
        await propose(village, village_space)
        await settle(village, city)
        assert await answers(village, pau) == [("proposal", "rejected", "not_partner")]
        page = await village.client.get(f"/following/{village_space}")
        assert page.has("did not publish your proposal: Your node is not a partner of this consultation")

        # The host's own limits on the title (10 to 150 characters).
        await propose(town, space_id, title="Benches")
        await settle(town, city)
        await propose(town, space_id, title="Shade " * 30)
        await settle(town, city)
        assert [a[1:] for a in await answers(town, jordi)] == [("rejected", "title_too_short"),
                                                               ("rejected", "title_too_long")]
        page = await town.client.get(f"/following/{space_id}")
        assert page.has("did not publish your proposal: The host found the title of your proposal too short.")

        # Proposals closed: the component stopped taking new ones meanwhile.
        await set_settings(city.app, component, creation_enabled=False)
        await propose(town, space_id)
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("proposal", "rejected", "proposals_closed")
        page = await town.client.get(f"/following/{space_id}")
        assert page.has("New proposals are not accepted in this consultation at the moment.")
        await set_settings(city.app, component, creation_enabled=True)

        # A forged attestation (signed by the resident, not by their node), and an Article
        # without any attestation: a fediverse post, not a participation.
        person = uris.user_actor(town.base_url, "jordi")
        async with town.app[DB].begin() as db:
            forged = await home._signed(db, "user", jordi.id, person, unsigned_attestation(
                node_actor=uris.node_actor(town.base_url), resident=person, space=group, authorisation="census",
                now=utcnow()))
        await crafted(town, jordi, group, forged)
        plain = await crafted(town, jordi, group, None)
        await settle(town, city)
        assert [a[1:] for a in await answers(town, jordi)][-2:] == [("rejected", "attestation_forged"),
                                                                    ("pending", None)]
        async with city.db() as db:
            assert await db.scalar(select(func.count()).select_from(Proposal)) == 0
            kept = list(await db.scalars(select(ParticipationRecord.reason).order_by(ParticipationRecord.sequence)))
            answered = [id_of(row.body["object"]) for row in await db.scalars(
                select(OutboxActivity).where(OutboxActivity.activity_type.in_(("Accept", "Reject")),
                                             OutboxActivity.actor_type == "space"))]
            received = await db.scalar(select(InboxActivity.status).where(InboxActivity.activity_id == plain))
        # Refusals after the attestation held are kept as records; the forged one names nobody.
        assert kept == ["not_partner", "title_too_short", "title_too_long", "proposals_closed"]
        # Not attested: stored as "ignored", no handler even dispatched (node.cohosting.routes).
        assert plain not in answered and received == "ignored"
