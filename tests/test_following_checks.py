"""Following, seen from outside and against bad input.

- A fediverse server that is not civicnode (a minimal one here, as Mastodon would behave) follows
  a space: it gets an Accept, then signed Announces whose inner activity carries an FEP-8b32
  proof that an independent implementation (apsig) verifies with the author's published key.
- The mirror refuses what a Group may not say: objects of another origin, of another Group,
  stale updates, resurrection after a Delete; and it sanitises HTML.
"""
from __future__ import annotations

import asyncio
import copy
import json
import uuid
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from apsig import ProofVerifier
from sqlalchemy import select

from federation.actors import build_actor
from federation.signatures import sign_request
from node.activitypub.follow_models import RemoteItem, RemoteSpace, SpaceFollower
from node.activitypub.mirror import apply
from node.appkeys import DB
from tests.inbox_support import keys
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import make_space, make_user
from tests.nodes import running_nodes
from tests.test_following import settle


class ForeignServer:
    """One Person actor and an inbox that keeps what it is sent."""

    def __init__(self):
        self.keys = keys(7)
        self.received: list[dict] = []
        self.arrived = asyncio.Event()
        app = web.Application()
        app.router.add_get("/users/ana", self.actor)
        app.router.add_post("/users/ana/inbox", self.inbox)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    @property
    def actor_id(self) -> str:
        return str(self.server.make_url("/users/ana"))

    async def actor(self, request):
        doc = build_actor("Person", id=self.actor_id, preferred_username="ana", name="Ana", summary=None,
                          inbox=self.actor_id + "/inbox", outbox=self.actor_id + "/outbox",
                          followers=self.actor_id + "/followers", shared_inbox=self.actor_id + "/inbox",
                          url=self.actor_id, rsa_public_pem=self.keys.rsa_public_pem,
                          ed25519_multibase=self.keys.ed25519_public_multibase)
        return web.json_response(doc, content_type="application/activity+json")

    async def inbox(self, request):
        self.received.append(json.loads(await request.read()))
        self.arrived.set()
        return web.Response(status=202)

    async def send(self, url: str, activity: dict) -> int:
        body = json.dumps(activity).encode()
        headers = sign_request("POST", url, {"Content-Type": "application/activity+json"}, body,
                               self.actor_id + "#main-key", self.keys.rsa_private_pem)
        async with ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status


async def test_a_foreign_follower_gets_accept_then_announces_with_verifiable_proofs(tmp_path):
    foreign = ForeignServer()
    await foreign.server.start_server()
    try:
        async with running_nodes(tmp_path, ["city"]) as nodes:
            city = nodes["city"]
            space, component, _ = await space_with_component(city.app, "budget-2027")
            await make_space(city.app, "draft-space", published=False)
            author = await make_user(city.app, "amelie")
            group = f"{city.base_url}/spaces/budget-2027"
            follow = {"@context": "https://www.w3.org/ns/activitystreams",
                      "id": f"{foreign.actor_id}/follows/{uuid.uuid4()}", "type": "Follow",
                      "actor": foreign.actor_id, "object": group}
            assert await foreign.send(group + "/inbox", follow) == 202
            # Following an unpublished space leaves no trace.
            hidden = dict(follow, id=f"{foreign.actor_id}/follows/{uuid.uuid4()}",
                          object=f"{city.base_url}/spaces/draft-space")
            assert await foreign.send(city.base_url + "/inbox", hidden) == 202
            await settle(city)
            accepts = [a for a in foreign.received if a["type"] == "Accept"]
            assert len(accepts) == 1 and accepts[0]["object"]["id"] == follow["id"] and accepts[0]["actor"] == group
            async with city.app[DB]() as db:
                assert [f.actor_uri for f in (await db.scalars(select(SpaceFollower))).all()] == [foreign.actor_id]

            proposal = await make_proposal(city.app, space, component, author, title="More benches")
            await settle(city)
            announces = {a["object"]["type"]: a for a in foreign.received if a["type"] == "Announce"}
            # The wrapped activity (for civicnode, Lemmy) and a plain boost of the Article (for
            # Mastodon, which ignores Announce{Create}).
            assert set(announces) == {"Create", "Article"}
            assert announces["Article"]["object"]["id"] == announces["Create"]["object"]["object"]["id"]
            announce = announces["Create"]
            assert announce["actor"] == group and announce["object"]["type"] == "Create"
            article = announce["object"]["object"]
            assert article["type"] == "Article" and article["name"] == "More benches"
            assert article["id"] == f"{group}/proposals/{proposal.id}" and article["audience"] == group
            # The author's proof, checked by apsig with the key the author's actor document publishes.
            async with ClientSession() as session:
                async with session.get(f"{city.base_url}/users/amelie",
                                       headers={"Accept": "application/activity+json"}) as response:
                    person = json.loads(await response.text())
            inner = announce["object"]
            method = inner["proof"]["verificationMethod"]
            [key] = [k for k in person["assertionMethod"] if k["id"] == method]
            verifier = ProofVerifier(key["publicKeyMultibase"])
            assert verifier.verify(copy.deepcopy(inner), raise_on_fail=True) == method
            forged = copy.deepcopy(inner)
            forged["object"]["name"] = "Fewer benches"
            assert verifier.verify(forged) is None

            undo = {"@context": "https://www.w3.org/ns/activitystreams", "id": follow["id"] + "/undo",
                    "type": "Undo", "actor": foreign.actor_id, "object": follow}
            assert await foreign.send(city.base_url + "/inbox", undo) == 202
            async with city.app[DB]() as db:
                assert (await db.scalars(select(SpaceFollower))).all() == []
    finally:
        await foreign.server.close()


async def test_the_mirror_keeps_only_what_the_group_may_say(app):
    group = "https://city.example/spaces/budget"
    async with app[DB].begin() as db:
        space = RemoteSpace(uri=group, host="city.example", handle="budget@city.example", name="Budget",
                            url=group, inbox=group + "/inbox")
        db.add(space)
        await db.flush()

        def article(n: int, **extra) -> dict:
            return {"id": f"{group}/proposals/{n}", "type": "Article", "name": f"Proposal {n}",
                    "content": "<p>Trees</p>", "audience": group, "attributedTo": "https://city.example/users/a",
                    "published": "2027-01-01T10:00:00Z", **extra}

        assert await apply(db, space, "Create", article(1, content='<p onclick="x()">Hi <script>bad()</script>'
                                                           '<a href="javascript:alert(1)">link</a></p>')) == 1
        stored = await db.scalar(select(RemoteItem).where(RemoteItem.uri == f"{group}/proposals/1"))
        assert "script" not in stored.content_html and "onclick" not in stored.content_html
        assert "javascript:" not in stored.content_html
        assert await apply(db, space, "Create", article(5, url="javascript:alert(1)")) == 1
        linked = await db.scalar(select(RemoteItem).where(RemoteItem.uri == f"{group}/proposals/5"))
        assert linked.url == f"{group}/proposals/5"  # only links on the Group's origin are kept
        # Another origin, or another Group's object, is not this Group's to announce.
        assert await apply(db, space, "Create", article(2, id="https://evil.example/proposals/2")) == 0
        assert await apply(db, space, "Create", article(3, audience="https://city.example/spaces/other")) == 0
        assert await apply(db, space, "Create", {"id": f"{group}/x/4", "type": "Person"}) == 0
        assert await apply(db, space, "Create", "not an object") == 0
        # An Update older than what is stored changes nothing; a newer one does.
        assert await apply(db, space, "Update", article(1, name="Newer", updated="2027-02-01T10:00:00Z")) == 1
        assert await apply(db, space, "Update", article(1, name="Older", updated="2027-01-15T10:00:00Z")) == 0
        assert stored.name == "Newer"
        # A comment belongs to the Group when it answers one of its items.
        note = {"id": "https://city.example/comments/9", "type": "Note",
                "inReplyTo": f"{group}/proposals/1", "content": "Agreed", "attributedTo": "https://city.example/users/b",
                "supportCount": -3}
        assert await apply(db, space, "Create", note) == 1
        orphan = dict(note, id="https://city.example/comments/10", inReplyTo="https://city.example/comments/404")
        assert await apply(db, space, "Create", orphan) == 0
        # Deleted stays deleted.
        assert await apply(db, space, "Delete", f"{group}/proposals/1") == 1
        assert await apply(db, space, "Update", article(1, name="Back", updated="2027-03-01T10:00:00Z")) == 0
        assert stored.deleted_at is not None and stored.name == "" and stored.content_html == ""
        assert await apply(db, space, "Delete", "https://evil.example/proposals/1") == 0


async def test_proposals_debates_and_comments_are_served_at_their_ids(tmp_path):
    from node.components.comments.registry import load_target
    from node.components.comments.service import create_comment
    from node.spaces.models import Component

    async with running_nodes(tmp_path, ["city"]) as nodes:
        city = nodes["city"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        author = await make_user(city.app, "amelie")
        proposal = await make_proposal(city.app, space, component, author, title="A fountain")
        async with city.app[DB].begin() as db:
            target = await load_target(db, "proposal", proposal.id)
            comment = await create_comment(db, target, commentable_type="proposal", commentable_id=proposal.id,
                                           author=author, body="Cool water", alignment="in_favor")
        accept = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
        path = f"/spaces/budget-2027/proposals/{proposal.id}"
        article = json.loads((await city.client.get(path, headers=accept)).text)
        assert article["type"] == "Article" and article["id"] == city.base_url + path
        assert article["name"] == "A fountain"
        assert "A fountain" in (await city.client.get(path)).text  # people still get the page
        assert (await city.client.get("/spaces/elsewhere/proposals/%d" % proposal.id, headers=accept)).status == 404
        note = json.loads((await city.client.get(f"/comments/{comment.id}", headers=accept)).text)
        assert note["type"] == "Note" and note["inReplyTo"] == city.base_url + path
        page = await city.client.get(f"/comments/{comment.id}")
        # (the #comment-N fragment stays in the browser, it is not part of the URL the client reports)
        assert page.status == 200 and page.url.endswith(path) and "Cool water" in page.text
        assert (await city.client.get("/comments/999999", headers=accept)).status == 404
        async with city.app[DB].begin() as db:
            row = await db.get(Component, component.id)
            row.published = False
        assert (await city.client.get(path, headers=accept)).status == 404
        assert (await city.client.get(f"/comments/{comment.id}", headers=accept)).status == 404
