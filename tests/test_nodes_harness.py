"""The multi-node harness itself: nodes are separate and see each other over HTTP."""
import json

from tests.nodes import running_nodes


async def test_three_nodes_discover_each_other(tmp_path):
    async with running_nodes(tmp_path, ["city", "town", "collective"]) as nodes:
        assert len({node.base_url for node in nodes.values()}) == 3
        city, town = nodes["city"], nodes["town"]
        # The town fetches the city's node actor over real HTTP.
        async with town.client.session.get(city.base_url + "/actor",
                                           headers={"Accept": "application/activity+json"}) as response:
            actor = json.loads(await response.text())
        assert actor["id"] == city.base_url + "/actor"
        assert "Town" in (await town.client.get("/")).text and "City" in (await city.client.get("/")).text
