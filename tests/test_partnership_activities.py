"""Partnership activities are dereferenceable at their ids, by the nodes they were addressed to
(a signed fetch), with real nodes over HTTP on SQLite and PostgreSQL: the city invites the town
through the real protocol, the town accepts; each reads the other's activities; an unsigned
fetch is 401, a node they were not addressed to gets 404, a browser 406."""
from __future__ import annotations


from aiohttp import ClientSession
from sqlalchemy import select

from node.activitypub import uris
from node.activitypub.delivery_models import OutboxActivity
from node.appkeys import DB
from node.cohosting import partners
from node.cohosting.models import Partnership, SpacePartner
from node.spaces.models import Space
from tests.nodes import running_nodes, signed_get, status_of
from tests.proposals_fixtures import space_with_component
from tests.spaces_support import make_user
from tests.test_following import settle

AP = "application/activity+json"


async def sent(node, activity_type: str) -> dict:
    async with node.db() as db:
        return await db.scalar(select(OutboxActivity.body).where(OutboxActivity.activity_type == activity_type,
                                                                 OutboxActivity.actor_type == "node"))


async def test_partnership_activities_are_served_to_their_addressees(tmp_path, database_url_for):
    names = ["city", "town", "collective"]
    async with running_nodes(tmp_path, names, database_url_for=database_url_for) as nodes:
        city, town, collective = (nodes[name] for name in names)
        space, _, _ = await space_with_component(city.app, "budget-2027")
        async with city.app[DB].begin() as db:
            (await db.get(Space, space.id)).federation_policy = "partners"
        mayor = await make_user(city.app, "mayor", role="admin")
        clerk = await make_user(town.app, "clerk", role="admin")
        await partners.invite(city.app, mayor, space.id, town.base_url, ["census"])
        await settle(city, town)
        async with town.db() as db:
            invited = await db.scalar(select(Partnership))
        await partners.accept(town.app, clerk, invited.id)
        await settle(town, city)
        async with city.db() as db:
            assert (await db.scalar(select(SpacePartner))).state == "active"

        # The town reads the Invite it received, at its id, as the city sent it.
        invite = await signed_get(town, invited.invite_activity_id)
        assert invite["id"] == invited.invite_activity_id and invite["type"] == "Invite"
        assert invite["target"] == uris.node_actor(town.base_url) and invite["conditions"] == invited.conditions
        assert invite == await sent(city, "Invite")
        # The city reads the town's Accept and its node actor's Follow of the space.
        accept, follow = await sent(town, "Accept"), await sent(town, "Follow")
        assert accept["id"].startswith(f"{town.base_url}/actor/partnerships/")
        assert await signed_get(city, accept["id"]) == accept
        assert (await signed_get(city, follow["id"]))["object"] == uris.space_actor(city.base_url, "budget-2027")

        # Not to a node they were not addressed to; not unsigned; no page for a browser.
        assert await status_of(collective, invited.invite_activity_id) == 404
        assert await status_of(collective, accept["id"]) == 404
        unknown = f"{city.base_url}/actor/partners/invites/00000000-0000-4000-8000-000000000000"
        assert await status_of(town, unknown) == 404
        async with ClientSession() as session:
            for url in (invited.invite_activity_id, unknown):
                async with session.get(url, headers={"Accept": AP}) as response:
                    assert response.status == 401 and "Sign this request" in (await response.json(
                        content_type=None))["error"]
            async with session.get(invited.invite_activity_id, headers={"Accept": "text/html"}) as response:
                assert response.status == 406 and "it has no page to show" in await response.text()

        # Ending it: the Leave is served to the city too.
        await partners.end_as_partner(town.app, clerk, invited.id)
        leave = await sent(town, "Leave")
        assert (await signed_get(city, leave["id"]))["type"] == "Leave"
