"""Partnerships of co-hosted consultations: real nodes over HTTP, on SQLite and on PostgreSQL.

The city invites the town into its budget space (Invite from the city's node actor); the town's
administrators see the invitation and accept it (Accept to the city, Follow of the Group: the
space is mirrored in the town) or decline it (Reject); either side ends it later (Leave +
Undo{Follow} from the partner, Remove from the host). Bad addresses and forged or misdirected
activities change nothing.
"""
from __future__ import annotations

import json
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from federation.actors import build_actor
from federation.vocab import default_context
from node.activitypub.follow_models import RemoteItem, RemoteSpace, SpaceFollower
from node.activitypub.inbox import POLICIES
from node.activitypub.models import InboxActivity
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.cohosting.models import Partnership, SpacePartner
from node.moderation.models import AdminAction
from node.spaces.models import Space
from tests.helpers import Page, csrf_from
from tests.inbox_support import keys
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_space, make_user
from tests.test_following import settle


# --- helpers --------------------------------------------------------------------------------------


async def admin_of(node, username: str = "admin"):
    user = await make_user(node.app, username, role="admin")
    assert (await node.client.login(username, PASSWORD)).status == 200
    return user


async def set_policy(node, space_id: int, policy: str) -> None:
    async with node.app[DB].begin() as db:
        (await db.get(Space, space_id)).federation_policy = policy


async def co_hosted_space(node, slug: str = "budget-2027", policy: str = "partners"):
    space, component, _ = await space_with_component(node.app, slug)
    await set_policy(node, space.id, policy)
    return space, component


async def post_form(node, path: str, fields: list[tuple[str, str]], csrf_path: str | None = None) -> Page:
    """A form POST with repeated fields (checkboxes), as a browser sends it."""
    token = csrf_from((await node.client.get(csrf_path or path)).text)
    async with node.client.session.post(node.base_url + path, data=[*fields, ("_csrf", token)]) as response:
        return Page(response.status, str(response.url), await response.text(), dict(response.headers))


async def invite(host, space_id: int, address: str, *authorisations: str) -> Page:
    return await post_form(host, f"/admin/spaces/{space_id}/partners",
                           [("address", address), *(("authorisations", name) for name in authorisations)])


async def answer(partner, partnership_id: int, action: str) -> Page:
    return await partner.client.post(f"/admin/partnerships/{partnership_id}/{action}",
                                     csrf_from_path="/admin/partnerships")


async def rows(node, model, *where) -> list:
    async with node.db() as db:
        return list((await db.scalars(select(model).where(*where).order_by(model.id))).all())


async def send_from(node, activity: dict, inbox: str, *, actor_type: str = "node", actor_id: int = 0) -> None:
    """``node`` sends ``activity`` signed by one of its actors, through its real outbox."""
    async with node.app[DB].begin() as db:
        await enqueue(db, actor_type=actor_type, actor_id=actor_id, activity=activity, inboxes=[inbox])


async def group_document(node, slug: str) -> dict:
    page = await node.client.get(f"/spaces/{slug}", headers={"Accept": "application/activity+json"})
    return json.loads(page.text)


# --- the lifecycle --------------------------------------------------------------------------------


async def test_invite_accept_mirror_then_the_partner_ends_it(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component = await co_hosted_space(city)
        author = await make_user(city.app, "amelie")
        await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        await admin_of(city, "mayor")
        await admin_of(town, "clerk")
        town_actor, city_actor = f"{town.base_url}/actor", f"{city.base_url}/actor"
        group = f"{city.base_url}/spaces/budget-2027"

        page = await invite(city, space.id, town.base_url, "census")
        assert page.status == 200 and "done=invited" in page.url, page.text[:2000]
        assert page.has(town.host) and page.has("Invited, waiting for an answer")
        assert page.has("Residence (municipal census)")
        [partner] = await rows(city, SpacePartner)
        assert (partner.node_uri, partner.state, partner.conditions) == (town_actor, "invited",
                                                                          {"authorisations": ["census"]})
        await settle(city, town)

        [partnership] = await rows(town, Partnership)
        assert partnership.state == "invited" and partnership.space_uri == group
        assert partnership.host_node_uri == city_actor and partnership.conditions == {"authorisations": ["census"]}
        assert partnership.invite["type"] == "Invite" and partnership.invite["target"] == town_actor
        listing = await town.client.get("/admin/partnerships")
        assert listing.status == 200 and listing.has("Space budget-2027") and listing.has(city.host)
        assert listing.has("one of these verifications: Residence (municipal census)") and listing.has(">Accept<")

        page = await answer(town, partnership.id, "accept")
        assert page.status == 200 and "done=accepted" in page.url, page.text[:2000]
        [partnership] = await rows(town, Partnership)
        assert partnership.state == "active" and partnership.answered_at and partnership.follow_activity_id
        # The space is mirrored at once (read from the Group's outbox).
        async with town.db() as db:
            remote = await db.get(RemoteSpace, partnership.remote_space_id)
            assert remote.uri == group
            assert await db.scalar(select(RemoteItem.name).where(RemoteItem.remote_space_id == remote.id)) == \
                "Shade trees in the school yard"

        await settle(town, city)
        [partner] = await rows(city, SpacePartner)
        assert partner.state == "active" and partner.answered_at is not None
        assert [f.actor_uri for f in await rows(city, SpaceFollower)] == [town_actor]
        document = await group_document(city, "budget-2027")
        assert document["partners"] == [town_actor] and document["federationPolicy"] == "partners"
        assert (await city.client.get("/spaces/budget-2027")).has(f"Co-hosted with {town.host}")

        # Residents of the town find it at home, with the host's conditions.
        spaces = await town.client.get("/spaces")
        assert spaces.has("Consultations co-hosted with other nodes") and spaces.has(f"/following/{remote.id}")
        mirror = await town.client.get(f"/following/{remote.id}")
        assert mirror.has("Co-hosted: residents of this node can take part")
        assert mirror.has("Residence (municipal census)")

        # The Group's news reaches the town's mirror (the node follows the Group).
        later = await make_proposal(city.app, space, component, author, title="A bike lane on the ring road")
        await settle(city, town)
        async with town.db() as db:
            assert await db.scalar(select(RemoteItem.name).where(RemoteItem.uri == f"{group}/proposals/{later.id}")) \
                == "A bike lane on the ring road"

        # The town leaves: Leave to the city's node, Undo{Follow} to the Group.
        page = await answer(town, partnership.id, "end")
        assert page.status == 200 and "done=left" in page.url
        [partnership] = await rows(town, Partnership)
        assert (partnership.state, partnership.ended_by) == ("ended", "partner") and partnership.ended_at
        await settle(town, city)
        [partner] = await rows(city, SpacePartner)
        assert (partner.state, partner.ended_by) == ("ended", "partner") and partner.ended_at is not None
        assert await rows(city, SpaceFollower) == []
        assert (await group_document(city, "budget-2027"))["partners"] == []
        assert not (await city.client.get("/spaces/budget-2027")).has("Co-hosted with")
        assert not (await town.client.get("/spaces")).has("Consultations co-hosted with other nodes")
        assert not (await town.client.get(f"/following/{remote.id}")).has("Co-hosted:")
        # Ending twice is refused and changes nothing.
        page = await answer(town, partnership.id, "end")
        assert page.status == 409 and page.has("This partnership has ended.")

        assert [a.action for a in await rows(city, AdminAction)] == ["partnership.invite"]
        assert [a.action for a in await rows(town, AdminAction)] == ["partnership.accept", "partnership.leave"]


async def test_decline_reinvite_and_the_host_ends_it(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, _ = await co_hosted_space(city, policy="open")
        await admin_of(city, "mayor")
        await admin_of(town, "clerk")

        assert (await invite(city, space.id, town.base_url)).status == 200
        await settle(city, town)
        [first] = await rows(town, Partnership)
        page = await answer(town, first.id, "decline")
        assert page.status == 200 and "done=declined" in page.url
        await settle(town, city)
        [declined] = await rows(city, SpacePartner)
        assert declined.state == "declined" and declined.answered_at is not None
        assert await rows(town, RemoteSpace) == []  # declining follows nothing
        # Accepting a declined invitation is refused.
        page = await answer(town, first.id, "accept")
        assert page.status == 409 and page.has("This invitation was declined.")

        # A declined node may be invited again: a new agreement, the old one kept as history.
        page = await invite(city, space.id, town.base_url)
        assert page.status == 200 and page.has("any resident with an account there")
        await settle(city, town)
        second = (await rows(town, Partnership))[-1]
        assert second.id != first.id and second.state == "invited" and second.conditions == {"authorisations": []}
        assert (await answer(town, second.id, "accept")).status == 200
        await settle(town, city)
        states = [p.state for p in await rows(city, SpacePartner)]
        assert states == ["declined", "active"]
        assert len(await rows(city, SpaceFollower)) == 1

        # The host ends it: Remove; the town marks it ended and stops following.
        current = (await rows(city, SpacePartner))[-1]
        page = await city.client.post(f"/admin/spaces/{space.id}/partners/{current.id}/end",
                                      csrf_from_path=f"/admin/spaces/{space.id}/partners")
        assert page.status == 200 and "done=ended" in page.url
        await settle(city, town, city)
        current = (await rows(city, SpacePartner))[-1]
        assert (current.state, current.ended_by) == ("ended", "host") and current.ended_at is not None
        second = (await rows(town, Partnership))[-1]
        assert (second.state, second.ended_by) == ("ended", "host") and second.ended_at is not None
        assert await rows(city, SpaceFollower) == []
        page = await city.client.post(f"/admin/spaces/{space.id}/partners/{current.id}/end",
                                      csrf_from_path=f"/admin/spaces/{space.id}/partners")
        assert page.status == 409

        # The host may also withdraw an invitation nobody answered yet.
        assert (await invite(city, space.id, town.base_url)).status == 200
        await settle(city, town)
        third = (await rows(city, SpacePartner))[-1]
        assert (await city.client.post(f"/admin/spaces/{space.id}/partners/{third.id}/end",
                                       csrf_from_path=f"/admin/spaces/{space.id}/partners")).status == 200
        await settle(city, town)
        assert [p.state for p in await rows(town, Partnership)] == ["declined", "ended", "ended"]
        assert [a.action for a in await rows(city, AdminAction)] == [
            "partnership.invite", "partnership.invite", "partnership.end", "partnership.invite", "partnership.end"]


# --- bad input ------------------------------------------------------------------------------------


class PersonAtActor:
    """A fediverse server whose /actor is a Person: an ActivityPub server, but not a node."""

    def __init__(self):
        self.keys = keys(7)
        app = web.Application()
        app.router.add_get("/actor", self.actor)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def actor(self, request):
        actor_id = str(self.server.make_url("/actor"))
        doc = build_actor("Person", id=actor_id, preferred_username="ana", name="Ana", summary=None,
                          inbox=actor_id + "/inbox", outbox=actor_id + "/outbox", followers=actor_id + "/followers",
                          shared_inbox=actor_id + "/inbox", url=actor_id, rsa_public_pem=self.keys.rsa_public_pem,
                          ed25519_multibase=self.keys.ed25519_public_multibase)
        return web.json_response(doc, content_type="application/activity+json")


async def test_admin_pages_need_an_administrator(tmp_path):
    async with running_nodes(tmp_path, ["city"]) as nodes:
        city = nodes["city"]
        space, _ = await co_hosted_space(city)
        anonymous = await city.client.get(f"/admin/spaces/{space.id}/partners")
        assert "/login" in anonymous.url
        assert "/login" in (await city.client.get("/admin/partnerships")).url
        await make_user(city.app, "amelie")
        assert (await city.client.login("amelie", PASSWORD)).status == 200
        assert (await city.client.get(f"/admin/spaces/{space.id}/partners")).status == 403
        assert (await city.client.get("/admin/partnerships")).status == 403
        page = await city.client.post(f"/admin/spaces/{space.id}/partners", {"address": "town.example"})
        assert page.status == 403
        assert (await city.client.post("/admin/partnerships/1/accept")).status == 403
        assert (await city.client.post(f"/admin/spaces/{space.id}/partners/1/end")).status == 403
        assert await rows(city, SpacePartner) == []

        await admin_of(city, "mayor")
        assert (await city.client.get("/admin/spaces/999/partners")).status == 404
        missing = await city.client.post("/admin/partnerships/999/accept", csrf_from_path="/admin/partnerships")
        assert missing.status == 404 and missing.has("No invitation has this address.")
        assert (await city.client.post(f"/admin/spaces/{space.id}/partners/999/end",
                                       csrf_from_path="/admin/partnerships")).status == 404
        admin_space = await city.client.get(f"/admin/spaces/{space.id}")
        assert admin_space.has(f"/admin/spaces/{space.id}/partners")
        assert (await city.client.get("/admin")).has("/admin/partnerships")


async def test_invitations_the_host_refuses(tmp_path, database_url_for):
    foreign = PersonAtActor()
    await foreign.server.start_server()
    try:
        async with running_nodes(tmp_path, ["city", "town", "village"], database_url_for=database_url_for) as nodes:
            city, town, village = nodes["city"], nodes["town"], nodes["village"]
            space, _ = await co_hosted_space(city)
            local, _ = await co_hosted_space(city, "local-budget", policy="local")
            hidden, _, _ = await make_space(city.app, "draft", published=False)
            await set_policy(city, hidden.id, "partners")
            await make_user(town.app, "jordi")
            await admin_of(city, "mayor")
            await city.app[POLICIES].set(village.host, "block", "spam")

            cases = [
                (space.id, "", 422, "Enter the address of a node"),
                (space.id, "not a node!", 422, "is not a node address"),
                (space.id, f"{town.base_url}/users/jordi", 422, "not of one of its pages"),
                (space.id, str(foreign.server.make_url("")), 422, "its actor is a Person, not a node"),
                (space.id, "127.0.0.1:1", 422, "could not be reached"),
                (space.id, city.base_url, 422, "this node&#39;s own address"),
                (space.id, village.base_url, 422, "its administrators blocked it"),
                (local.id, town.base_url, 409, "Only residents of this node may take part in this space"),
                (hidden.id, town.base_url, 409, "Publish this space first"),
            ]
            for space_id, address, status, message in cases:
                page = await invite(city, space_id, address)
                assert page.status == status and message in page.text, (address, page.status, page.text[:3000])
            page = await invite(city, space.id, town.base_url, "census", "magic")
            assert page.status == 422 and page.has("Choose the conditions among the verifications listed")
            assert await rows(city, SpacePartner) == []

            assert (await invite(city, space.id, town.base_url)).status == 200
            page = await invite(city, space.id, town.base_url + "/")
            assert page.status == 409 and page.has("is already a partner of this space, or already invited")
            assert len(await rows(city, SpacePartner)) == 1
            assert (await city.client.get(f"/admin/spaces/{local.id}/partners")).has("first set")
            async with city.db() as db:
                assert await db.scalar(select(func.count()).select_from(AdminAction)) == 1
    finally:
        await foreign.server.close()


async def test_misdirected_or_forged_activities_change_nothing(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town", "village"], database_url_for=database_url_for) as nodes:
        city, town, village = nodes["city"], nodes["town"], nodes["village"]
        space, _ = await co_hosted_space(city)
        await co_hosted_space(village, "village-fair")
        amelie = await make_user(city.app, "amelie")
        city_actor, town_actor, village_actor = (f"{n.base_url}/actor" for n in (city, town, village))
        group = f"{city.base_url}/spaces/budget-2027"

        def invitation(**changes) -> dict:
            activity = {"@context": default_context(), "id": f"{city_actor}/partners/invites/{uuid.uuid4()}",
                        "type": "Invite", "actor": city_actor, "object": group, "target": town_actor,
                        "to": [town_actor], "conditions": {"authorisations": []}}
            return {**activity, **changes}

        town_inbox = f"{town.base_url}/actor/inbox"
        # An Invite of another node, an Invite from a Person, an Invite of something that is not a
        # Group, and of a Group of another origin.
        await send_from(city, invitation(target=village_actor, to=[village_actor]), town_inbox)
        person = f"{city.base_url}/users/amelie"
        await send_from(city, invitation(id=f"{person}/invites/{uuid.uuid4()}", actor=person), town_inbox,
                        actor_type="user", actor_id=amelie.id)
        await send_from(city, invitation(object=person), town_inbox)
        await send_from(city, invitation(object=f"{village.base_url}/spaces/village-fair"), town_inbox)
        await settle(city, town)
        async with town.db() as db:
            assert await db.scalar(select(func.count()).select_from(Partnership)) == 0
            statuses = (await db.scalars(select(InboxActivity.status).where(InboxActivity.type == "Invite"))).all()
        assert list(statuses) == ["processed"] * 4  # received, checked, ignored

        # A real invitation; then a node that was not invited answers it: nothing changes.
        await admin_of(city, "mayor")
        assert (await invite(city, space.id, town.base_url)).status == 200
        [partner] = await rows(city, SpacePartner)
        city_inbox = f"{city.base_url}/actor/inbox"
        for kind in ("Accept", "Reject"):
            await send_from(village, {"@context": default_context(), "id": f"{village_actor}/answers/{uuid.uuid4()}",
                                      "type": kind, "actor": village_actor, "object": partner.invite_activity_id},
                            city_inbox)
        # The invited node answering an invitation that does not exist changes nothing either.
        await send_from(town, {"@context": default_context(), "id": f"{town_actor}/answers/{uuid.uuid4()}",
                               "type": "Accept", "actor": town_actor,
                               "object": f"{city_actor}/partners/invites/{uuid.uuid4()}"}, city_inbox)
        await settle(village, town, city)
        [partner] = await rows(city, SpacePartner)
        assert partner.state == "invited" and partner.answered_at is None

        # A Remove from a node that is not the host, and a Leave from a node that is not a partner.
        [partnership] = await rows(town, Partnership)
        await send_from(village, {"@context": default_context(), "id": f"{village_actor}/removes/{uuid.uuid4()}",
                                  "type": "Remove", "actor": village_actor, "object": town_actor, "target": group},
                        town_inbox)
        await send_from(village, {"@context": default_context(), "id": f"{village_actor}/leaves/{uuid.uuid4()}",
                                  "type": "Leave", "actor": village_actor, "object": group}, city_inbox)
        await settle(village, town, city)
        assert (await rows(town, Partnership))[0].state == "invited"
        assert (await rows(city, SpacePartner))[0].state == "invited"

        # The same Invite delivered again is one invitation.
        await send_from(city, dict(partnership.invite, **{"@context": default_context()}),
                        f"{town.base_url}/inbox")
        await settle(city, town)
        assert len(await rows(town, Partnership)) == 1


def test_node_addresses_are_read_as_people_type_them():
    from node.cohosting.partners import PartnerError, node_actor_address

    assert node_actor_address("town.example") == "https://town.example/actor"
    assert node_actor_address(" Town.Example:8443/ ") == "https://town.example:8443/actor"
    assert node_actor_address("http://127.0.0.1:8080/actor") == "http://127.0.0.1:8080/actor"
    assert node_actor_address("https://[::1]:8443") == "https://[::1]:8443/actor"
    for bad in ("", "ftp://town.example", "https://user@town.example", "town.example/?q=1", "town_example",
                "https://town.example:99999", "https://town.example/spaces/budget"):
        with pytest.raises(PartnerError):
            node_actor_address(bad)
