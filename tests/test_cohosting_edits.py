"""A partner node's resident edits and deletes their remote comment, and edits and withdraws their
remote proposal, from the space's mirror at home: real nodes over HTTP, SQLite and PostgreSQL.

The town sends the resident's own Update{Note|Article} or Delete of the object their Create
carried, signed by them, with a fresh attestation; the city checks that the actor is the author
stored at creation, applies the rules its own residents have (comments: "edited", a deleted one
leaves its place; proposals: the edit window, a new version and fingerprint, withdrawal), keeps
the activity in the space's records and answers; the space's Update or Delete changes the mirror.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from node.activitypub import uris
from node.activitypub.follow_models import RemoteItem, RemoteSpace
from node.activitypub.models import InboxActivity
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.cohosting import home
from node.cohosting.models import OutgoingParticipation, ParticipationRecord
from node.components.comments.models import Comment
from node.components.proposals.models import Proposal, ProposalVersion
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, set_settings, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_cohosting_participation import answers, follow, mirrored, partners, resident
from tests.test_following import settle


async def item_of(node, uri: str) -> RemoteItem:
    async with node.db() as db:
        return await db.scalar(select(RemoteItem).where(RemoteItem.uri == uri))


async def change(node, space_id: int, item_id: int, action: str, page_path: str, **fields):
    return await node.client.post(f"/following/{space_id}/items/{item_id}/{action}", fields,
                                  csrf_from_path=page_path)


async def crafted(town, user, group: str, activity_type: str, obj) -> str:
    """What another resident's node could send: their own signed activity, attested, about an
    object that is not theirs."""
    person = uris.user_actor(town.base_url, user.username)
    activity = {"@context": home._context(), "id": f"{person}/participations/{uuid.uuid4()}",
                "type": activity_type, "actor": person, "object": obj, "audience": group, "to": [group]}
    async with town.app[DB].begin() as db:
        activity["attestation"] = await home._attestation(db, town.base_url, user, group,
                                                          {"authorisations": ["census"]})
        signed = await home._signed(db, "user", user.id, person, activity)
        db.add(OutgoingParticipation(user_id=user.id, space_uri=group, object_uri=group, kind="comment_edit",
                                     activity_id=signed["id"], activity=signed))
        await enqueue(db, actor_type="user", actor_id=user.id, activity=signed, inboxes=[f"{group}/inbox"])
    return signed["id"]


async def records(city) -> list[tuple[str, str, str | None]]:
    async with city.db() as db:
        rows = await db.scalars(select(ParticipationRecord).order_by(ParticipationRecord.sequence))
        return [(r.kind, r.answer, r.reason) for r in rows]


async def test_a_partner_resident_edits_and_deletes_their_remote_comment(tmp_path, database_url_for):
    from federation.fetch import SafeFetcher
    from node.cohosting.recount import recount

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        amelie = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, amelie, title="Shade trees in the school yard")
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        nuria = await resident(town, "nuria")
        await follow(town, city, "nuria")
        await follow(town, city, "jordi")
        group = uris.space_actor(city.base_url, "budget-2027")
        space_id, item_id = await mirrored(town, f"{group}/proposals/{proposal.id}")
        page_path = f"/following/{space_id}/items/{item_id}"
        await town.client.post(f"{page_path}/comment", {"body": "Yes, shade for the children."},
                               csrf_from_path=page_path)
        await settle(town, city)
        async with city.db() as db:
            comment = await db.scalar(select(Comment))
        comment_uri = f"{city.base_url}/comments/{comment.id}"
        mirrored_comment = (await item_of(town, comment_uri)).id
        edit_path = f"/following/{space_id}/items/{mirrored_comment}/edit"

        # Someone else's comment offers nothing to change, and changing it is refused at home.
        await town.client.login("nuria", PASSWORD)
        page = await town.client.get(page_path)
        assert page.status == 200 and not page.has(f'action="{edit_path}"')
        page = await change(town, space_id, mirrored_comment, "edit", page_path, body="Not mine")
        assert page.status == 403 and page.has("You can change only what you wrote from this node.")

        # Its author edits it from the mirror: a form without JavaScript, prefilled with their text.
        await town.client.login("jordi", PASSWORD)
        page = await town.client.get(page_path)
        assert page.has(f'action="{edit_path}"') and page.has("Yes, shade for the children.</textarea>")
        assert not page.has('class="comment-edited"')
        assert page.has(f'action="/following/{space_id}/items/{mirrored_comment}/delete"')
        page = await change(town, space_id, mirrored_comment, "edit", page_path, body="   ")
        assert page.status == 422 and page.has("Write something before sending your comment.")
        page = await change(town, space_id, mirrored_comment, "edit", page_path,
                            body="Yes, *shade* and water fountains.")
        assert page.status == 200 and page.has("Your change was sent to")
        await settle(town, city)
        async with city.db() as db:
            comment = await db.get(Comment, comment.id)
        assert (comment.body, comment.edited_at is not None) == ("Yes, *shade* and water fountains.", True)
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.has("<em>shade</em> and water fountains") and page.has('class="comment-edited"')
        assert (await answers(town, jordi))[-1] == ("comment_edit", "accepted", None)
        # Back home: the mirror has the new text, marked edited, and the form the new one.
        back = await item_of(town, comment_uri)
        assert "<em>shade</em> and water fountains" in back.content_html and back.edited_at is not None
        page = await town.client.get(page_path)
        assert page.has("Your edit is published by") and page.has('class="comment-edited"')
        assert page.has("Yes, *shade* and water fountains.</textarea>")
        # The list of what they sent from here quotes the text now published, not the first one.
        assert page.has("<blockquote>Yes, *shade* and water fountains.</blockquote>")
        assert not page.has("<blockquote>Yes, shade for the children.</blockquote>")

        # Another resident's node sends an edit of jordi's Note: not the author, nothing changes.
        note = dict((await item_of(town, comment_uri)).document)
        async with town.db() as db:
            created = await db.scalar(select(OutgoingParticipation).where(OutgoingParticipation.kind == "comment"))
        original = created.activity["object"]
        forged = dict(original, attributedTo=uris.user_actor(town.base_url, "nuria"), content="Taken over")
        await crafted(town, nuria, group, "Update", forged)
        await crafted(town, nuria, group, "Delete", original["id"])
        await settle(town, city)
        assert [a[1:] for a in await answers(town, nuria)] == [("rejected", "not_author")] * 2
        async with city.db() as db:
            unchanged = await db.get(Comment, comment.id)
        assert (unchanged.body, unchanged.deleted_at) == ("Yes, *shade* and water fountains.", None)
        assert (await item_of(town, comment_uri)).document == note

        # Its author deletes it: a placeholder keeps its place, on the host and in the mirror.
        page = await change(town, space_id, mirrored_comment, "delete", page_path)
        assert page.status == 200
        await settle(town, city)
        async with city.db() as db:
            deleted = await db.get(Comment, comment.id)
        assert deleted.deleted_at is not None and deleted.body == "Yes, *shade* and water fountains."
        page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
        assert page.has("Comment deleted") and not page.has("water fountains")
        assert (await answers(town, jordi))[-1] == ("comment_delete", "accepted", None)
        assert (await item_of(town, comment_uri)).deleted_at is not None
        page = await town.client.get(page_path)
        assert page.has("This comment was deleted.") and not page.has(f'action="{edit_path}"')
        assert page.has("Your comment is deleted on")
        # Deleted stays deleted: a late edit is refused at home, and by the host.
        page = await change(town, space_id, mirrored_comment, "edit", page_path, body="Back again")
        assert page.status == 409
        await crafted(town, jordi, group, "Update", dict(original, content="Back again"))
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("comment_edit", "rejected", "comment_gone")

        # A fediverse Delete (no attestation) is not dispatched to these handlers, nor answered.
        person = uris.user_actor(town.base_url, "jordi")
        plain = {"@context": home._context(), "id": f"{person}/deletes/{uuid.uuid4()}", "type": "Delete",
                 "actor": person, "object": original["id"], "to": [group]}
        async with town.app[DB].begin() as db:
            signed = await home._signed(db, "user", jordi.id, person, plain)
            await enqueue(db, actor_type="user", actor_id=jordi.id, activity=signed, inboxes=[f"{group}/inbox"])
        await settle(town, city)
        async with city.db() as db:
            assert await db.scalar(select(InboxActivity.status).where(InboxActivity.activity_id == signed["id"])) \
                == "ignored"

        # The records keep every change, signed; the recount checks them and still agrees.
        assert await records(city) == [("comment", "accepted", None), ("comment_edit", "accepted", None),
                                       ("comment_edit", "rejected", "not_author"),
                                       ("comment_delete", "rejected", "not_author"),
                                       ("comment_delete", "accepted", None),
                                       ("comment_edit", "rejected", "comment_gone")]
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, group)
        assert report.ok, report.problems
        assert (report.records, report.checked) == (6, 3)


async def test_a_partner_resident_edits_within_the_window_then_withdraws_their_proposal(tmp_path, database_url_for):
    from federation.fetch import SafeFetcher
    from node.cohosting.recount import recount

    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        await partners(city, town, space)
        jordi = await resident(town, "jordi")
        await follow(town, city, "jordi")
        group = uris.space_actor(city.base_url, "budget-2027")
        async with town.db() as db:
            space_id = await db.scalar(select(RemoteSpace.id).where(RemoteSpace.uri == group))
        await town.client.post(f"/following/{space_id}/propose",
                               {"title": "Covered bike parking at the station", "body": "Room for two hundred bikes."},
                               csrf_from_path=f"/following/{space_id}")
        await settle(town, city)
        async with city.db() as db:
            proposal = await db.scalar(select(Proposal))
            first = await db.scalar(select(ProposalVersion.fingerprint)
                                    .where(ProposalVersion.proposal_id == proposal.id))
        url = f"{group}/proposals/{proposal.id}"
        item = await item_of(town, url)
        page_path = f"/following/{space_id}/items/{item.id}"
        assert item.fingerprint == first

        page = await town.client.get(page_path)
        assert page.has('id="my-proposal"') and page.has(f'action="{page_path}/edit"')
        assert page.has('value="Covered bike parking at the station"')
        assert page.has("Room for two hundred bikes.</textarea>")
        page = await change(town, space_id, item.id, "edit", page_path, title="Covered and lit bike parking",
                            body="Room for **two hundred** bikes, lit at night.")
        assert page.status == 200 and page.has("Your change was sent to")
        await settle(town, city)
        # A new version with a new fingerprint, still the resident's (their actor is its author).
        async with city.db() as db:
            proposal = await db.get(Proposal, proposal.id)
            versions = list(await db.scalars(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
                                             .order_by(ProposalVersion.number)))
        assert (proposal.title, proposal.version_number, len(versions)) == ("Covered and lit bike parking", 2, 2)
        assert versions[1].fingerprint != first and f'"author":"{uris.user_actor(town.base_url, "jordi")}"' \
            in versions[1].canonical_json
        assert (await answers(town, jordi))[-1] == ("proposal_edit", "accepted", None)
        item = await item_of(town, url)
        assert (item.name, item.fingerprint) == ("Covered and lit bike parking", versions[1].fingerprint)
        page = await town.client.get(page_path)
        assert page.has("as a new version of your proposal") and page.has(versions[1].fingerprint)

        # Past the component's edit window: refused with its reason, nothing changes.
        await set_settings(city.app, component, edit_window_minutes=15)
        async with city.app[DB].begin() as db:
            (await db.get(Proposal, proposal.id)).created_at -= timedelta(minutes=20)
        page = await change(town, space_id, item.id, "edit", page_path, title="Too late for this title",
                            body="Room for two hundred bikes.")
        await settle(town, city)
        assert (await answers(town, jordi))[-1] == ("proposal_edit", "rejected", "edit_window_closed")
        page = await town.client.get(page_path)
        assert page.has("did not make your change: The time for editing this proposal is over on its node.")
        async with city.db() as db:
            assert (await db.get(Proposal, proposal.id)).version_number == 2

        # Deleting it withdraws it, as its local authors can; the mirror shows it withdrawn.
        page = await change(town, space_id, item.id, "delete", page_path)
        assert page.status == 200
        await settle(town, city)
        async with city.db() as db:
            assert (await db.get(Proposal, proposal.id)).state == "withdrawn"
        assert (await answers(town, jordi))[-1] == ("proposal_withdraw", "accepted", None)
        assert (await item_of(town, url)).state == "withdrawn"
        page = await town.client.get(page_path)
        assert page.has("Your proposal is withdrawn on") and not page.has(f'action="{page_path}/edit"')

        assert await records(city) == [("proposal", "accepted", None), ("proposal_edit", "accepted", None),
                                       ("proposal_edit", "rejected", "edit_window_closed"),
                                       ("proposal_withdraw", "accepted", None)]
        async with SafeFetcher(allow_private=True) as fetcher:
            report = await recount(fetcher, group)
        assert report.ok, report.problems
        assert (report.records, report.checked) == (4, 3)
