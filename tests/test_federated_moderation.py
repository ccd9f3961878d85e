"""Moderation across nodes, with two real nodes over HTTP, on SQLite and on PostgreSQL.

A resident of the town reads the city's budget space in the town's mirror and reports a comment
or a proposal there: the town's moderators get the report (and may hide the town's copy, nothing
more), and the town's node forwards it to the city as a Flag that names no resident. The city
records it as a report by the town's node, once, and hides the item at its threshold. A node the
city blocked (or did not allow, in allowlist mode) gets nothing through.
"""
from __future__ import annotations

import contextlib
import json
import uuid

from aiohttp import ClientSession, CookieJar
from sqlalchemy import func, select

from node.accounts.models import User
from node.activitypub import uris
from node.activitypub.delivery_models import Delivery, OutboxActivity
from node.activitypub.follow_models import RemoteItem, RemoteSpace, SpaceFollower
from node.activitypub.inbox import POLICIES
from node.activitypub.models import InboxActivity
from node.activitypub.outbox import enqueue
from node.appkeys import DB, SETTINGS
from node.components.comments.models import Comment
from node.components.comments.registry import load_target
from node.components.comments.service import delete_comment
from node.events import Event
from node.moderation.models import AdminAction, Moderation, Report, UserBlock
from tests.helpers import WebClient
from tests.nodes import running_nodes, start_node
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_following import comment_on, settle

TITLE = "Shade trees in the school yard"


@contextlib.asynccontextmanager
async def resident(node, username: str, role: str = "user"):
    """A browser of ``node`` logged in as a new account."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
        client = WebClient(session, node.base_url)
        await make_user(node.app, username, role)
        assert (await client.login(username, PASSWORD)).status == 200
        yield client


async def city_content(city):
    """The city's space with a proposal, a comment on it and a reply to the comment."""
    space, component, _ = await space_with_component(city.app, "budget-2027")
    author = await make_user(city.app, "amelie")
    proposal = await make_proposal(city.app, space, component, author, title=TITLE)
    comment = await comment_on(city.app, proposal.id, author, "Whoever wants this is an idiot.")
    reply = await comment_on(city.app, proposal.id, author, "And I stand by it.", parent_id=comment.id)
    return proposal, comment, reply


async def follow(town, city, client) -> None:
    page = await client.post("/following", {"address": f"budget-2027@{city.host}"}, csrf_from_path="/following")
    assert page.status == 200 and "?done=followed" in page.url, page.text[:2000]
    await settle(town, city)


async def copy_of(town, uri: str) -> RemoteItem:
    async with town.db() as db:
        return await db.scalar(select(RemoteItem).where(RemoteItem.uri == uri))


async def report(client, item_id: int, reason: str = "spam", details: str = ""):
    return await client.post("/report", {"subject_type": "remote_item", "subject_id": str(item_id),
                                         "reason": reason, "details": details},
                             csrf_from_path=f"/report?subject_type=remote_item&subject_id={item_id}")


async def rows(node, model, *where) -> list:
    async with node.db() as db:
        return list(await db.scalars(select(model).where(*where).order_by(model.id)))


async def flags_sent(node) -> list[dict]:
    return [row.body for row in await rows(node, OutboxActivity, OutboxActivity.activity_type == "Flag")]


async def test_a_report_in_the_mirror_reaches_the_origin_as_a_flag_and_counts_there(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        proposal, comment, _ = await city_content(city)
        proposal_uri = f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}"
        comment_uri = f"{city.base_url}/comments/{comment.id}"
        async with resident(town, "jordi") as jordi, resident(town, "kim") as kim:
            await follow(town, city, jordi)
            copy = await copy_of(town, comment_uri)
            item_page = await jordi.get(f"/following/{copy.remote_space_id}/items/"
                                        f"{(await copy_of(town, proposal_uri)).id}")
            assert item_page.has(f"/report?subject_type=remote_item&amp;subject_id={copy.id}")

            form = await jordi.get(f"/report?subject_type=remote_item&subject_id={copy.id}")
            assert form.status == 200 and form.has("Whoever wants this") and form.has(f"moderators of {city.host}")
            sent = await report(jordi, copy.id, "offensive", "Insults people who disagree")
            assert sent.status == 200 and sent.has(f"without your name, to the moderators of {city.host}")
            again = await report(jordi, copy.id)
            assert again.status == 409 and again.has("already reported")
            # A second resident's report of the same comment: a second Flag, which the city
            # does not count again (one report per node).
            assert (await report(kim, copy.id, "spam")).status == 200

            [flag, _second] = await flags_sent(town)
            assert flag["type"] == "Flag" and flag["actor"] == uris.node_actor(town.base_url)
            assert flag["object"] == [comment_uri] and flag["to"] == [uris.node_actor(city.base_url)]
            assert flag["reportReason"] == "offensive"
            assert flag["content"] == "Offensive, harassment or hate: Insults people who disagree"
            assert "reportReason" in flag["@context"][-1]
            async with town.db() as db:
                assert set(await db.scalars(select(Delivery.inbox_url).join(OutboxActivity).where(
                    OutboxActivity.activity_type == "Flag"))) == {f"{city.base_url}/inbox"}
            await settle(town, city)

        # The city: one report, by the town's node, naming no resident.
        async with city.db() as db:
            received = list(await db.scalars(select(InboxActivity).where(InboxActivity.type == "Flag")))
            reports = list(await db.scalars(select(Report)))
            moderation = await db.scalar(select(Moderation))
        assert [r.status for r in received] == ["processed", "processed"]
        assert not any("jordi" in json.dumps(r.body) or "kim" in json.dumps(r.body) for r in received)
        assert [(r.user_id, r.reporter_node, r.reason, r.details) for r in reports] == [
            (None, uris.node_actor(town.base_url), "offensive", "Insults people who disagree")]
        assert (moderation.subject_type, moderation.subject_id, moderation.report_count) == ("comment", comment.id, 1)
        assert not moderation.hidden
        async with resident(city, "mona", role="moderator") as mona:
            queue = await mona.get("/moderation")
            assert queue.status == 200 and queue.has("Whoever wants this")
            assert queue.has(f"Node {town.host}: Offensive, harassment or hate — Insults people who disagree")
            assert not queue.has("jordi")

        # The town's moderators see both residents' reports, marked as content of the city.
        async with resident(town, "tom", role="moderator") as tom:
            queue = await tom.get("/moderation")
            assert queue.has(f"Content of {city.host}, another node") and queue.has("@jordi") and queue.has("@kim")
            assert queue.has("Hide on this node")

        # At the city's threshold a Flag hides the proposal there, and the city's Delete reaches
        # the town's copy.
        city.app[SETTINGS].moderation_hide_threshold = 1
        async with resident(town, "lea") as lea:
            assert (await report(lea, (await copy_of(town, proposal_uri)).id, "spam")).status == 200
        await settle(town, city)
        async with city.db() as db:
            hidden = await db.scalar(select(Moderation).where(Moderation.subject_type == "proposal"))
            auto = await db.scalar(select(AdminAction).where(AdminAction.action == "moderation.hide"))
        assert hidden.hidden and hidden.subject_id == proposal.id and hidden.report_count == 1
        assert auto.actor_id is None and auto.data["automatic"]
        assert (await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")).status == 404
        await settle(city, town)
        assert (await copy_of(town, proposal_uri)).deleted_at is not None


async def test_moderators_hide_a_copy_of_remote_content_on_their_node_only(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        proposal, comment, _ = await city_content(city)
        proposal_uri = f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}"
        async with resident(town, "jordi") as jordi, resident(town, "tom", role="moderator") as tom:
            await follow(town, city, jordi)
            item = await copy_of(town, proposal_uri)
            copy = await copy_of(town, f"{city.base_url}/comments/{comment.id}")
            page_path = f"/following/{item.remote_space_id}/items/{item.id}"
            page = await tom.get(page_path)
            assert page.has("Hide in this node's copy (moderation)") and page.has(f"moderators of {city.host}")

            refused = await jordi.post("/moderation/hide", {"subject_type": "remote_item", "subject_id": str(copy.id),
                                                            "reason": "insults"}, csrf_from_path=page_path)
            assert refused.status == 403
            hidden = await tom.post("/moderation/hide", {"subject_type": "remote_item", "subject_id": str(copy.id),
                                                         "reason": "Insults"}, csrf_from_path=page_path)
            assert hidden.status == 200 and hidden.has("It is still published on the node it comes from")
            page = await jordi.get(page_path)
            assert page.has("This comment was hidden by this node's moderators.")
            assert not page.has("Whoever wants this") and not page.has("And I stand by it.")
            assert page.has(TITLE)

            hidden = await tom.post("/moderation/hide", {"subject_type": "remote_item", "subject_id": str(item.id),
                                                         "reason": "Off topic"}, csrf_from_path=page_path)
            assert hidden.status == 200
            listing = await jordi.get(f"/following/{item.remote_space_id}")
            assert listing.status == 200 and not listing.has(TITLE)
            gone = await jordi.get(page_path)
            assert gone.status == 404 and gone.has("moderators hid this content")

            # Nothing left the town and nothing changed in the city: its page still shows all.
            await settle(town, city)
            assert await flags_sent(town) == []
            async with town.db() as db:
                assert await db.scalar(select(func.count()).select_from(Event)
                                       .where(Event.kind.like("moderation.%"))) == 0
            assert await rows(city, Moderation) == []
            city_page = await city.client.get(f"/spaces/budget-2027/proposals/{proposal.id}")
            assert city_page.has(TITLE) and city_page.has("Whoever wants this")

            moderation = (await rows(town, Moderation, Moderation.subject_id == item.id))[0]
            shown = await tom.post(f"/moderation/{moderation.id}/unhide", {"reason": "Back on topic"},
                                   csrf_from_path="/moderation?hidden=1")
            assert shown.status == 200
            assert (await jordi.get(page_path)).has(TITLE)
            actions = [(a.action, a.subject_type) for a in await rows(town, AdminAction)]
            assert actions == [("moderation.hide", "remote_item")] * 2 + [("moderation.unhide", "remote_item")]


async def test_acting_on_remote_content_as_if_it_were_local_is_refused_and_changes_nothing(tmp_path,
                                                                                            database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        proposal, comment, _ = await city_content(city)
        async with resident(town, "jordi") as jordi, resident(town, "tom", role="moderator") as tom:
            await follow(town, city, jordi)
            item = await copy_of(town, f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}")
            page_path = f"/following/{item.remote_space_id}/items/{item.id}"

            # The mirror names authors name@host: not accounts of this node.
            blocked = await tom.post(f"/users/amelie@{city.host}/block", {"reason": "insults"},
                                     csrf_from_path=page_path)
            assert blocked.status == 422 and blocked.has(f"amelie@{city.host} is an account of another node")
            # Ids that name nothing here: unknown, past the database's integers, an address of the
            # other node instead of this node's number, a type that does not exist.
            for subject_type, subject_id in (("remote_item", "999999"), ("remote_item", "99999999999"),
                                             ("remote_item", item.uri), ("proposal", str(item.id + 1000)),
                                             ("remote", str(item.id))):
                hide = await tom.post("/moderation/hide", {"subject_type": subject_type, "subject_id": subject_id,
                                                           "reason": "spam"}, csrf_from_path=page_path)
                assert hide.status == 404 and hide.has("nothing to report"), (subject_type, subject_id)
                sent = await jordi.post("/report", {"subject_type": subject_type, "subject_id": subject_id,
                                                    "reason": "spam"}, csrf_from_path=page_path)
                assert sent.status == 404, (subject_type, subject_id)
            unhide = await tom.post("/moderation/999999/unhide", {"reason": "x"}, csrf_from_path=page_path)
            assert unhide.status == 404
            # Bad report input on remote content: the form again, with what was typed.
            other = await report(jordi, item.id, "other", "")
            assert other.status == 422 and other.has("Other")

            # Content the city deleted cannot be reported any more.
            async with city.app[DB].begin() as db:
                target = await load_target(db, "proposal", proposal.id)
                author = await db.get(User, comment.author_id)
                await delete_comment(db, target, await db.get(Comment, comment.id), author)
            await settle(city, town)
            deleted = await copy_of(town, f"{city.base_url}/comments/{comment.id}")
            assert deleted.deleted_at is not None
            assert (await report(jordi, deleted.id)).status == 404

            assert await rows(town, UserBlock) == [] and await rows(town, Moderation) == []
            assert await rows(town, Report) == [] and await flags_sent(town) == []

            # A node the town stopped federating with gets no Flag: the report stays here.
            await town.app[POLICIES].set(city.host, "block", "test")
            kept = await report(jordi, item.id, "spam", "Selling watches")
            assert kept.status == 200 and kept.has(f"It was not sent to {city.host}")
            assert len(await rows(town, Report)) == 1 and await flags_sent(town) == []


async def test_flags_naming_what_is_not_ours_are_ignored_and_repeats_count_once(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        proposal, comment, _ = await city_content(city)
        base = city.base_url
        node = uris.node_actor(town.base_url)

        async def flag(objects, actor_type="node", actor_id=0, actor=node, **extra):
            activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/flags/{uuid.uuid4()}",
                        "type": "Flag", "actor": actor, "object": objects, "to": [uris.node_actor(base)], **extra}
            async with town.app[DB].begin() as db:
                await enqueue(db, actor_type=actor_type, actor_id=actor_id, activity=activity,
                              inboxes=[f"{base}/inbox"])
            await settle(town, city)

        await flag([f"{base}/spaces/budget-2027/proposals/999999", f"{base}/spaces/other/proposals/{proposal.id}",
                    f"{base}/spaces/budget-2027/proposals/99999999999", f"{base}/comments/{comment.id}?x=1",
                    f"{town.base_url}/spaces/budget-2027/proposals/{proposal.id}", "not a uri", {"no": "id"},
                    f"{base}/users/amelie", f"{base}/spaces/budget-2027"])
        await flag(f"{base}/spaces/budget-2027/c/1/debates/{proposal.id}")
        await flag(None)
        assert await rows(city, Report) == [] and await rows(city, Moderation) == []
        statuses = [r.status for r in await rows(city, InboxActivity)]
        assert statuses == ["processed"] * 3  # ignored without failing

        # A Flag as Mastodon sends it (no reportReason, plain content, the object as a string),
        # then the same node again, from another of its actors: counted once.
        await flag(f"{base}/spaces/budget-2027/proposals/{proposal.id}", content="<p>Looks like an advert</p>")
        jordi = await make_user(town.app, "jordi")
        await flag([f"{base}/spaces/budget-2027/proposals/{proposal.id}"], actor_type="user", actor_id=jordi.id,
                   actor=uris.user_actor(town.base_url, "jordi"), reportReason="offensive")
        reports = await rows(city, Report)
        assert [(r.reporter_node, r.reason, r.details) for r in reports] == [(node, "other", "Looks like an advert")]
        assert (await rows(city, Moderation))[0].report_count == 1


@contextlib.asynccontextmanager
async def two_nodes(tmp_path, database_url_for, **city_config):
    """As running_nodes, with settings for the city (e.g. allowlist mode)."""
    city = await start_node(tmp_path / "city", "city", database_url_for("city"), **city_config)
    town = await start_node(tmp_path / "town", "town", database_url_for("town"))
    try:
        yield city, town
    finally:
        for node in (city, town):
            await node.client.session.close()
            await node.server.close()


async def refused_deliveries(town, activity_type: str) -> list[Delivery]:
    async with town.db() as db:
        return list(await db.scalars(select(Delivery).join(OutboxActivity)
                                     .where(OutboxActivity.activity_type == activity_type)))


async def test_a_blocked_node_gets_neither_flags_nor_follows_through(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        proposal, _, _ = await city_content(city)
        async with resident(town, "jordi") as jordi, resident(town, "kim") as kim:
            await follow(town, city, jordi)
            item = await copy_of(town, f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}")
            await city.app[POLICIES].set(town.host, "block", "defederated")
            before = [row.id for row in await rows(city, InboxActivity)]

            assert (await report(jordi, item.id, "spam")).status == 200
            page = await kim.post("/following", {"address": f"budget-2027@{city.host}"},
                                  csrf_from_path="/following")
            assert page.status == 200
            await settle(town, city)
        for kind in ("Flag", "Follow"):
            [delivery] = [d for d in await refused_deliveries(town, kind) if d.status != "delivered"]
            assert (delivery.status, delivery.last_status) == ("failed", 403), kind
        assert [row.id for row in await rows(city, InboxActivity)] == before
        assert await rows(city, Report) == [] and await rows(city, Moderation) == []
        assert len(await rows(city, SpaceFollower)) == 1  # jordi's, from before the block


async def test_allowlist_mode_refuses_a_node_it_did_not_list(tmp_path, database_url_for):
    async with two_nodes(tmp_path, database_url_for, federation_mode="allowlist") as (city, town):
        proposal, _, _ = await city_content(city)
        async with resident(town, "jordi") as jordi:
            # The town can read the city's public space, but its Follow is refused.
            await follow(town, city, jordi)
            [follow_delivery] = await refused_deliveries(town, "Follow")
            assert (follow_delivery.status, follow_delivery.last_status) == ("failed", 403)
            assert await rows(city, SpaceFollower) == []
            item = await copy_of(town, f"{city.base_url}/spaces/budget-2027/proposals/{proposal.id}")
            assert (await report(jordi, item.id, "spam")).status == 200
            await settle(town, city)
            [flag_delivery] = await refused_deliveries(town, "Flag")
            assert (flag_delivery.status, flag_delivery.last_status) == ("failed", 403)
            assert await rows(city, Report) == [] and await rows(city, InboxActivity) == []

            # Once the city's administrators allow the town, its reports come through.
            await city.app[POLICIES].set(town.host, "allow", "partner")
            async with resident(town, "kim") as kim:
                assert (await report(kim, item.id, "spam")).status == 200
            await settle(town, city)
            assert [r.reporter_node for r in await rows(city, Report)] == [uris.node_actor(town.base_url)]
        async with town.db() as db:
            assert await db.scalar(select(RemoteSpace.host)) == city.host
