"""Activities at their ids: what a node sent is served at its id when it was public, exactly as the
receiver got it; unknown and non-public ids are 404, an activity whose item was since hidden or
deleted is a 410 Tombstone, and people are sent to the page of what the activity is about.  Two
real nodes over HTTP, on SQLite and on PostgreSQL."""
from __future__ import annotations

import json

from sqlalchemy import select

from node.activitypub.delivery_models import OutboxActivity
from node.activitypub.models import InboxActivity
from node.activitypub.objects import public_activity
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.components.comments.registry import load_target
from node.components.comments.service import delete_comment
from node.moderation.service import hide, load_subject
from node.spaces.models import Space
from node.spaces.service import update_space
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_following import comment_on, settle

AP = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
HTML = {"Accept": "text/html,application/xhtml+xml"}


async def received(node, actor: str) -> dict[str, dict]:
    """What ``node``'s inbox got from ``actor``: activity id -> body."""
    async with node.db() as db:
        rows = await db.scalars(select(InboxActivity).where(InboxActivity.actor == actor).order_by(InboxActivity.id))
        return {row.activity_id: row.body for row in rows}


async def fetch(node, uri: str, headers=AP):
    assert uri.startswith(node.base_url + "/")
    async with node.client.session.get(uri, headers=headers, allow_redirects=False) as response:
        text = await response.text()
        return response.status, response.headers, text


async def fetch_json(node, uri: str, headers=AP):
    status, response_headers, text = await fetch(node, uri, headers)
    assert response_headers["Content-Type"].startswith("application/activity+json"), response_headers
    return status, json.loads(text)


async def test_sent_activities_are_fetchable_by_their_ids(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        author = await make_user(city.app, "amelie")
        admin = await make_user(city.app, "mayor", role="admin")
        await make_user(town.app, "jordi")
        assert (await town.client.login("jordi", PASSWORD)).status == 200
        page = await town.client.post("/following", {"address": f"budget-2027@{city.host}"},
                                      csrf_from_path="/following")
        assert page.status == 200
        await settle(town, city)
        group = f"{city.base_url}/spaces/budget-2027"

        proposal = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        comment = await comment_on(city.app, proposal.id, author, "Yes, please.")
        await settle(city, town)
        got = await received(town, group)
        announces = {i: body for i, body in got.items() if body["type"] == "Announce"}
        # The proposal's Announce{Create} and its boost, the comment's Announce{Create}.
        assert len(announces) == 3, list(got)

        # Each is served at its id exactly as the town received it, and so is the author's
        # signed Create inside.
        for activity_id, body in announces.items():
            assert activity_id.startswith(f"{city.base_url}/activities/")
            status, served = await fetch_json(city, activity_id)
            assert (status, served) == (200, body)
        [proposal_announce] = [b for b in announces.values() if b["object"]["type"] == "Create"
                               and b["object"]["object"]["type"] == "Article"]
        inner = proposal_announce["object"]
        assert inner["id"] + "/announce" == proposal_announce["id"] and "proof" in inner
        assert await fetch_json(city, inner["id"], LD) == (200, inner)
        response = await fetch(city, inner["id"])
        assert response[1]["Vary"] == "Accept"

        # People are sent to the page of what the activity is about.
        article_url = inner["object"]["url"]
        for uri in (proposal_announce["id"], inner["id"]):
            status, headers, _ = await fetch(city, uri, HTML)
            assert (status, headers["Location"]) == (303, article_url)
        assert (await city.client.get(proposal_announce["id"].removeprefix(city.base_url))).url == article_url

        # The Group's Update (a rename) at its id, now a path: it is the Group's new document.
        async with city.app[DB].begin() as db:
            await update_space(db, await db.get(Space, space.id), {"title": {"en": "Budget 2027, extended"}},
                               default_locale="en")
        await settle(city, town)
        [update_id] = [i for i, body in (await received(town, group)).items() if body["type"] == "Update"]
        assert update_id.startswith(f"{group}/updates/event-")
        status, served = await fetch_json(city, update_id)
        assert status == 200 and served == (await received(town, group))[update_id]
        assert served["object"]["name"] == "Budget 2027, extended"
        status, headers, _ = await fetch(city, update_id, HTML)
        assert (status, headers["Location"]) == (303, group)

        # Addressed to one actor: the Group's Accept and the town's Follow say who follows what,
        # which nobody publishes; the town's Follow id is 404.
        async with city.db() as db:
            accept = await db.scalar(select(OutboxActivity).where(OutboxActivity.activity_type == "Accept"))
            assert accept is not None and not await public_activity(db, city.base_url, accept)
        async with town.db() as db:
            follow = await db.scalar(select(OutboxActivity).where(OutboxActivity.activity_type == "Follow"))
        assert follow.activity_uri.startswith(f"{town.base_url}/users/jordi/follows/")
        assert (await fetch(town, follow.activity_uri))[0] == 404

        # Deleted by its author: the comment's Create no longer shows the comment (410); the
        # Announce{Delete} that said so is public.
        async with city.app[DB].begin() as db:
            target = await load_target(db, "proposal", proposal.id)
            await delete_comment(db, target, await db.get(type(comment), comment.id), author)
        await settle(city, town)
        [comment_create] = [i for i, b in announces.items()
                            if b["object"]["type"] == "Create" and b["object"]["object"]["type"] == "Note"]
        status, served = await fetch_json(city, comment_create)
        assert (status, served["type"], served["id"], served["formerType"]) == (410, "Tombstone", comment_create,
                                                                                "Announce")
        assert "Yes, please" not in json.dumps(served)
        status, headers, text = await fetch(city, comment_create, HTML)
        assert status == 410 and "was removed from this node" in text and "Yes, please" not in text
        [comment_delete] = [i for i, b in (await received(town, group)).items()
                            if b["type"] == "Announce" and b["object"]["type"] == "Delete"]
        assert (await fetch_json(city, comment_delete))[0] == 200
        # A deletion has no page: people are told what the address is.
        status, headers, text = await fetch(city, comment_delete, HTML)
        assert status == 406 and "it has no page to show" in text and "text/html" in headers["Content-Type"]

        # Hidden by moderators: the proposal's Create, its boost and the author's inner Create are
        # Tombstones; the Group's Delete is served.
        async with city.app[DB].begin() as db:
            await hide(db, await load_subject(db, "proposal", proposal.id), await db.get(type(admin), admin.id),
                       "Off topic")
        await settle(city, town)
        for uri, former in ((proposal_announce["id"], "Announce"), (inner["id"], "Create"),
                            (proposal_announce["id"].replace("/announce", "/boost"), "Announce")):
            status, served = await fetch_json(city, uri)
            assert (status, served["type"], served["formerType"]) == (410, "Tombstone", former), uri
            assert "Shade trees" not in json.dumps(served)
        hidden_delete = [i for i, b in (await received(town, group)).items()
                         if b["type"] == "Announce" and b["object"]["type"] == "Delete" and i != comment_delete]
        assert len(hidden_delete) == 1
        assert (await fetch_json(city, hidden_delete[0]))[0] == 200

        # A space that is not published any more: nothing of it is served.
        async with city.app[DB].begin() as db:
            (await db.get(Space, space.id)).published = False
        for uri in (hidden_delete[0], update_id, comment_delete):
            assert (await fetch_json(city, uri))[0] == 404, uri


async def test_unknown_and_non_public_activity_ids_are_404(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city"], database_url_for=database_url_for) as nodes:
        city = nodes["city"]
        space, _, _ = await space_with_component(city.app, "budget-2027")
        group = f"{city.base_url}/spaces/budget-2027"
        somebody = "https://town.example/users/jordi"
        direct = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Update", "actor": group,
                  "object": {"id": f"{city.base_url}/spaces/budget-2027/proposals/1", "type": "Article",
                             "name": "For jordi only", "url": f"{city.base_url}/spaces/budget-2027/proposals/1"}}
        async with city.app[DB].begin() as db:
            # Addressed to one actor; or to the followers of a space that is not published.
            await enqueue(db, actor_type="space", actor_id=space.id, inboxes=[],
                          activity={**direct, "id": f"{group}/updates/direct", "to": [somebody]})
            await enqueue(db, actor_type="space", actor_id=space.id, inboxes=[],
                          activity={**direct, "id": f"{group}/updates/elsewhere",
                                    "to": [f"{city.base_url}/spaces/other/followers"]})
            await enqueue(db, actor_type="space", actor_id=space.id, inboxes=[],
                          activity={**direct, "id": f"{group}/updates/followers", "to": [f"{group}/followers"]})
        for path in ("/spaces/budget-2027/updates/direct", "/spaces/budget-2027/updates/elsewhere"):
            status, served = await fetch_json(city, city.base_url + path)
            assert status == 404 and "For jordi" not in json.dumps(served), path
            status, _, text = await fetch(city, city.base_url + path, HTML)
            assert status == 404 and "No public activity has this address" in text and "For jordi" not in text
        # The followers of a published space: what they are sent is the space's public content.
        status, served = await fetch_json(city, f"{group}/updates/followers")
        assert status == 200 and served["id"] == f"{group}/updates/followers"

        for path in ("/activities/1", "/activities/1/announce", "/activities/2147483648/boost",
                     "/spaces/budget-2027/updates/key-999", "/users/nobody/updates/key-1"):
            status, served = await fetch_json(city, city.base_url + path)
            assert (status, served) == (404, {"error": "No public activity has this id."}), path
        for path in ("/activities/0", "/activities/99999999999", "/activities/1/like", "/activities/x",
                     "/spaces/budget-2027/updates/UPPER"):
            assert (await fetch(city, city.base_url + path))[0] == 404, path
