"""Following a space of another node: two real nodes over HTTP, on SQLite and on PostgreSQL.

A resident of the town follows the city's budget space by its address; the town's mirror is
filled from the city's outbox at once, the city Accepts, and from then on the city's Group
Announces new proposals, edits, state answers, comments and deletions, which the mirror shows.
"""
from __future__ import annotations


from sqlalchemy import select

from node.activitypub.follow_models import RemoteFollow, RemoteItem, RemoteSpace, SpaceFollower
from node.activitypub.publisher import PUBLISHER
from node.activitypub.worker import DELIVERY
from node.appkeys import DB
from node.components.comments.registry import load_target
from node.components.comments.service import create_comment, delete_comment
from node.components.debates.service import create_debate
from node.components.proposals.models import Proposal
from node.components.proposals.service import answer_proposal
from node.spaces.models import Component, Space
from node.spaces.service import update_space
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_user


async def settle(*nodes, rounds: int = 4) -> None:
    """Let every node publish its events and deliver its outbox; a Follow needs three hops
    (Follow, Accept, then the Group's Announces), so a few rounds."""
    for _ in range(rounds):
        for node in nodes:
            await node.app[PUBLISHER]["publisher"].until_idle()
            await node.app[DELIVERY]["worker"].until_idle()


async def comment_on(app, proposal_id: int, author, body: str, parent_id: int | None = None):
    async with app[DB].begin() as db:
        target = await load_target(db, "proposal", proposal_id)
        return await create_comment(db, target, commentable_type="proposal", commentable_id=proposal_id,
                                    author=author, body=body, parent_id=parent_id, alignment="in_favor")


async def mirrored(node, uri: str) -> RemoteItem | None:
    async with node.db() as db:
        return await db.scalar(select(RemoteItem).where(RemoteItem.uri == uri))


async def test_a_resident_follows_a_space_of_another_node_and_reads_it_at_home(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        author = await make_user(city.app, "amelie")
        admin = await make_user(city.app, "mayor", role="admin")
        early = await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        first_comment = await comment_on(city.app, early.id, author, "Yes, **please**. <script>alert(1)</script>")
        async with city.app[DB].begin() as db:
            debate_component = await db.get(Component, component.id)
            debate = await create_debate(db, debate_component, {"title": {"en": "Which streets first?"},
                                                                "description": {"en": "Let us talk."}},
                                         language="en")
        await settle(city)  # nobody follows yet: events are handled, nothing is sent

        resident = await make_user(town.app, "jordi")
        assert (await town.client.login("jordi", PASSWORD)).status == 200
        page = await town.client.post("/following", {"address": f"budget-2027@{city.host}"},
                                      csrf_from_path="/following")
        assert page.status == 200 and "?done=followed" in page.url
        # Filled from the city's outbox before the Follow is even answered.
        assert page.has("Shade trees in the school yard") and page.has("Which streets first?")
        proposal_uri = f"{city.base_url}/spaces/budget-2027/proposals/{early.id}"
        item = await mirrored(town, proposal_uri)
        assert item.kind == "proposal" and item.fingerprint and item.support_count == 0
        comment = await mirrored(town, f"{city.base_url}/comments/{first_comment.id}")
        assert comment.in_reply_to == proposal_uri and "<strong>please</strong>" in comment.content_html
        assert "<script" not in comment.content_html
        assert (await mirrored(town, f"{city.base_url}/spaces/budget-2027/c/{component.id}/debates/{debate.id}"))

        await settle(town, city)
        async with town.db() as db:
            follow = await db.scalar(select(RemoteFollow).where(RemoteFollow.user_id == resident.id))
        assert follow.state == "accepted"
        async with city.db() as db:
            followers = (await db.scalars(select(SpaceFollower))).all()
        assert [f.actor_uri for f in followers] == [f"{town.base_url}/users/jordi"]

        # From now on the Group announces what happens in the space.
        later = await make_proposal(city.app, space, component, author, title="A bike lane on the ring road")
        reply = await comment_on(city.app, early.id, author, "And benches.", parent_id=first_comment.id)
        async with city.app[DB].begin() as db:
            await answer_proposal(db, await db.get(Proposal, early.id), user=admin, state="accepted",
                                  answer="Planned for 2027.")
        async with city.app[DB].begin() as db:
            target = await load_target(db, "proposal", early.id)
            await delete_comment(db, target, await db.get(type(first_comment), first_comment.id), author)
        await settle(city, town)

        assert (await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{later.id}")).name == \
            "A bike lane on the ring road"
        assert (await mirrored(town, proposal_uri)).state == "accepted"
        deleted = await mirrored(town, f"{city.base_url}/comments/{first_comment.id}")
        assert deleted.deleted_at is not None and deleted.content_html == ""
        assert (await mirrored(town, f"{city.base_url}/comments/{reply.id}")).in_reply_to == \
            f"{city.base_url}/comments/{first_comment.id}"

        # The city renames the space: the Group's Update refreshes the town's copy.
        async with city.app[DB].begin() as db:
            await update_space(db, await db.get(Space, space.id),
                               {"title": {"en": "Participatory budget 2027, extended"}}, default_locale="en")
        await settle(city, town)
        async with town.db() as db:
            assert (await db.scalar(select(RemoteSpace))).name == "Participatory budget 2027, extended"

        # The mirror pages, read by anyone on the town's node.
        async with town.db() as db:
            remote = await db.scalar(select(RemoteSpace))
            early_item = await db.scalar(select(RemoteItem).where(RemoteItem.uri == proposal_uri))
        listing = await town.client.get(f"/following/{remote.id}")
        assert listing.has("A bike lane on the ring road") and listing.has("Accepted")
        thread = await town.client.get(f"/following/{remote.id}/items/{early_item.id}")
        assert thread.status == 200 and thread.has("This comment was deleted.") and thread.has("And benches.")
        assert thread.has(f"amelie@{city.host}")

        # Unfollowing sends Undo: the city stops announcing to the town.
        page = await town.client.post(f"/following/{remote.id}/unfollow", csrf_from_path=f"/following/{remote.id}")
        assert page.status == 200 and "done=unfollowed" in page.url
        await settle(town, city)
        async with city.db() as db:
            assert (await db.scalars(select(SpaceFollower))).all() == []
        ignored = await make_proposal(city.app, space, component, author, title="Nobody hears this one")
        await settle(city, town)
        assert await mirrored(town, f"{city.base_url}/spaces/budget-2027/proposals/{ignored.id}") is None


async def test_following_refuses_what_is_not_a_space_of_another_reachable_node(tmp_path):
    async with running_nodes(tmp_path, ["city", "town"]) as nodes:
        city, town = nodes["city"], nodes["town"]
        await space_with_component(city.app, "budget-2027")
        await space_with_component(town.app, "town-budget")
        await make_user(city.app, "amelie")
        await make_user(town.app, "jordi")

        anonymous = await town.client.get("/following")
        assert "/login" in anonymous.url  # logging in first, then back here
        assert (await town.client.login("jordi", PASSWORD)).status == 200

        async def follow(address: str):
            return await town.client.post("/following", {"address": address}, csrf_from_path="/following")

        cases = {
            "": "Enter the address of a space",
            "not an address": "is not an address like",
            f"nothing-here@{city.host}": "No space was found",
            f"amelie@{city.host}": "is not a space (it is a Person)",
            f"town-budget@{town.host}": "This space is on this node",
            "budget@127.0.0.1:1": "could not be reached",
        }
        for address, message in cases.items():
            page = await follow(address)
            assert page.status == 422 and message in page.text, (address, page.text[:3000])
        async with town.db() as db:
            assert (await db.scalars(select(RemoteFollow))).all() == []

        # A server the town's admin blocked cannot be followed.
        from node.activitypub.inbox import POLICIES

        await town.app[POLICIES].set(city.host, "block", "spam")
        page = await follow(f"budget-2027@{city.host}")
        assert page.status == 422 and "does not federate with" in page.text


async def test_space_collections_followers_count_and_paged_outbox(tmp_path):
    async with running_nodes(tmp_path, ["city"]) as nodes:
        city = nodes["city"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        author = await make_user(city.app, "amelie")
        made = [await make_proposal(city.app, space, component, author, title=f"Proposal number {n}")
                for n in range(55)]
        accept = {"Accept": "application/activity+json"}
        followers = await city.client.get("/spaces/budget-2027/followers", headers=accept)
        assert followers.status == 200 and '"totalItems": 0' in followers.text.replace('":0', '": 0')
        import json

        outbox = json.loads((await city.client.get("/spaces/budget-2027/outbox", headers=accept)).text)
        first = json.loads((await city.client.get(outbox["first"].replace(city.base_url, ""), headers=accept)).text)
        assert len(first["orderedItems"]) == 50 and first["orderedItems"][0]["type"] == "Create"
        assert first["orderedItems"][0]["object"]["name"] == "Proposal number 54"
        second = json.loads((await city.client.get(first["next"].replace(city.base_url, ""), headers=accept)).text)
        names = [i["object"]["name"] for i in first["orderedItems"] + second["orderedItems"]]
        assert sorted(names) == sorted(f"Proposal number {n}" for n in range(55)) and "next" not in second
        assert len(made) == 55
        assert (await city.client.get("/spaces/nowhere/outbox", headers=accept)).status == 404
        assert (await city.client.get("/spaces/budget-2027/outbox?after=yesterday", headers=accept)).status == 400
