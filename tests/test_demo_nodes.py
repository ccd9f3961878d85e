"""`civicnode demo` as people run it: one process serving three federated nodes (city, town,
collective), each with its own data directory and SQLite database, on 127.0.0.1.

The command runs as a subprocess (tests/bench/nodeproc.py, as the browser tests and benchmarks
use it) and is always stopped. "Node A fetches node B's space actor" is done with node A's own
remote-actor resolver (node.activitypub.inbox.remote_actors) built from A's data directory: A's
settings, A's signing key, A's database, so a node that could not federate over 127.0.0.1 fails
here exactly as it would in the demo.
"""
from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from markupsafe import escape

from node.activitypub.inbox import remote_actors
from node.app import create_app
from node.appkeys import ENGINE
from node.config import load_settings, write_initial_config
from node.demo import DEMO_LOGINS, DEMO_NODES
from node.demo_federation import DEMO_REMOTE_COMMENT, DEMO_REMOTE_PROPOSAL
from tests.bench.nodeproc import REPO, civicnode_command, get, start_demo


def fetch_json(url: str, accept: str) -> dict:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


async def fetch_space_as(data: Path, base_url: str, actor_url: str):
    """Node `data` (serving at base_url) resolves a remote actor the way its inbox does."""
    settings = load_settings(data, environ={})
    settings.base_url = settings.base_url or base_url  # --port 0 keeps no address in the file
    app = create_app(settings)
    actors = remote_actors(app)
    try:
        return await actors.fetch(actor_url)
    finally:
        await actors.close()
        await app[ENGINE].dispose()


def test_the_demo_serves_three_nodes_that_can_federate(tmp_path):
    data = tmp_path / "demo"
    node = start_demo(data)
    try:
        assert [site.name for site in node.sites] == [spec.name for spec in DEMO_NODES]
        assert node.url == node.sites[0].url and node.logins == DEMO_LOGINS  # the city comes first
        assert [site.logins for site in node.sites] == [spec.logins for spec in DEMO_NODES]
        assert len({site.url for site in node.sites}) == 3
        assert any("allow_private_addresses = true" in line for line in node.output)
        assert any("for one run" in line for line in node.output)

        for site, spec in zip(node.sites, DEMO_NODES):
            status, body = get(site.url + "/")
            assert status == 200 and spec.name in body.decode()
            settings = load_settings(data / spec.key, environ={})
            assert settings.allow_private_addresses and settings.federation_mode == "open"
            host = urllib.parse.urlsplit(site.url).netloc
            finger = fetch_json(f"{site.url}/.well-known/webfinger?resource=acct:{spec.space}@{host}",
                                "application/jrd+json")
            actor_url = f"{site.url}/spaces/{spec.space}"
            assert finger["subject"] == f"acct:{spec.space}@{host}"
            assert {"rel": "self", "type": "application/activity+json", "href": actor_url} in finger["links"]
            assert fetch_json(actor_url, "application/activity+json")["id"] == actor_url

        # Each node fetches the next one's space actor: city -> town -> collective -> city.
        for (a, a_spec), (b, b_spec) in zip(zip(node.sites, DEMO_NODES),
                                            list(zip(node.sites, DEMO_NODES))[1:] + [(node.sites[0], DEMO_NODES[0])]):
            actor_url = f"{b.url}/spaces/{b_spec.space}"
            actor = asyncio.run(fetch_space_as(data / a_spec.key, a.url, actor_url))
            assert (actor.id, actor.kind, actor.inbox) == (actor_url, "Group", actor_url + "/inbox")
            assert actor.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
            with sqlite3.connect(data / a_spec.key / "civicnode.db") as db:
                assert db.execute("SELECT count(*) FROM remote_actors WHERE uri = ?", (actor_url,)).fetchone() == (1,)

        # The town's residents follow the city's budget: its mirror on the town's node is filled.
        city, town = node.sites[0], node.sites[1]
        with sqlite3.connect(data / "town" / "civicnode.db") as db:
            space_id, handle = db.execute("SELECT id, handle FROM remote_spaces").fetchone()
            name = db.execute("SELECT name FROM remote_items WHERE kind = 'proposal' ORDER BY id").fetchone()[0]
        assert handle == f"{DEMO_NODES[0].space}@{city.url.split('://')[1]}"
        status, body = get(f"{town.url}/following/{space_id}")
        assert status == 200 and str(escape(name)) in body.decode()
        # The budget is co-hosted with the town, and a town resident's support is counted by the city.
        with sqlite3.connect(data / "city" / "civicnode.db") as db:
            assert db.execute("SELECT state, host FROM space_partners").fetchall() == \
                [("active", town.url.split("://")[1])]
            assert db.execute("SELECT count(*) FROM proposal_supports WHERE participant_id IS NOT NULL"
                              ).fetchone() == (1,)
            # The collective's proposal, shared into the city's budget, is there with its origin.
            origin, = db.execute("SELECT origin_uri FROM proposals WHERE origin_uri IS NOT NULL").fetchone()
            assert origin.startswith(node.sites[2].url + "/spaces/")
        with sqlite3.connect(data / "town" / "civicnode.db") as db:
            assert db.execute("SELECT state FROM partnerships").fetchall() == [("active",)]
            assert db.execute("SELECT kind, answer FROM outgoing_participations ORDER BY id").fetchall() == \
                [("support", "accepted"), ("comment", "accepted"), ("proposal", "accepted")]
        # Núria, a town resident, commented and proposed from her node: the city shows both as hers.
        town_host = town.url.split("://")[1]
        with sqlite3.connect(data / "city" / "civicnode.db") as db:
            assert db.execute("SELECT c.body, c.commentable_type, r.display_name, r.home_host FROM comments c "
                              "JOIN remote_participants r ON r.id = c.remote_participant_id").fetchall() == \
                [(DEMO_REMOTE_COMMENT, "proposal", "Núria Vidal", town_host)]
            (commented,) = db.execute("SELECT commentable_id FROM comments WHERE remote_participant_id "
                                      "IS NOT NULL").fetchone()
            proposed, title = db.execute("SELECT id, title FROM proposals WHERE remote_participant_id "
                                         "IS NOT NULL").fetchall()[0]
        assert title == DEMO_REMOTE_PROPOSAL["title"]
        by_nuria = f'class="remote-author">Núria Vidal <span class="remote-host">({town_host})</span>'
        # (The first words of each: the rest goes through markdown and typography.)
        for proposal_id, text in ((commented, DEMO_REMOTE_COMMENT), (proposed, DEMO_REMOTE_PROPOSAL["title"])):
            status, body = get(f"{city.url}/spaces/{DEMO_NODES[0].space}/proposals/{proposal_id}")
            page = body.decode()
            assert status == 200 and by_nuria in page and text.split(":")[0] in page, (proposal_id, page[-3000:])
        # Anyone recounts the co-hosted budget from its public signed records.
        recount = subprocess.run(civicnode_command() + ["recount", "--allow-private", "--json",
                                                        f"{city.url}/spaces/{DEMO_NODES[0].space}"],
                                 cwd=REPO, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        report = json.loads(recount.stdout)
        assert recount.returncode == 0 and report["ok"] and report["checked"] >= 10, recount.stdout[-2000:]
    finally:
        assert node.stop() == 0  # a clean shutdown on SIGTERM
    assert (data / "federated").exists()  # node.demo_federation.federate_demo ran once the nodes listened


def consecutive_free_ports(count: int = 3) -> int:
    """A first port P with P .. P+count-1 free right now (the OS picks P; we check the others)."""
    for _attempt in range(50):
        held = [socket.socket()]
        try:
            held[0].bind(("127.0.0.1", 0))
            first = held[0].getsockname()[1]
            for port in range(first + 1, first + count):
                held.append(socket.socket())
                held[-1].bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    pytest.fail(f"found no {count} consecutive free ports")


def run_demo(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(civicnode_command() + ["demo", "--data", str(data), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def town_rows(data: Path) -> tuple:
    with sqlite3.connect(data / "town" / "civicnode.db") as db:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("users", "spaces", "proposals", "proposal_supports", "comments", "debates"))


def test_the_demo_keeps_its_ports_and_a_busy_one_is_a_one_line_error(tmp_path):
    data = tmp_path / "demo"
    first = consecutive_free_ports()
    node = start_demo(data, port=first)
    try:
        urls = [site.url for site in node.sites]
        assert urls == [f"http://127.0.0.1:{first + rank}" for rank in range(3)]
        assert not any("for one run" in line for line in node.output)
        assert get(urls[1] + "/spaces/passeig-maritim")[0] == 200
    finally:
        node.stop()
    assert load_settings(data / "town", environ={}).base_url == urls[1]
    seeded = town_rows(data)

    # Another --port on restart changes nothing: the addresses are baked into the actor ids.
    node = start_demo(data, port=0)
    try:
        assert [site.url for site in node.sites] == urls
    finally:
        node.stop()

    with socket.socket() as squatter:
        # The demo's closed connections leave the port in TIME_WAIT; a listener still excludes it.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", first + 1))
        squatter.listen()
        refused = run_demo(data)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr + refused.stdout
    assert refused.stderr.startswith(f"civicnode: error: port {first + 1} of the demo's Sant Martí de la Marenda")
    assert "--reset" in refused.stderr

    # Nothing was lost: once the port is free the same nodes come back with their data.
    assert town_rows(data) == seeded
    node = start_demo(data, port=0)
    try:
        assert [site.url for site in node.sites] == urls
        status, body = get(urls[1] + "/spaces/passeig-maritim")
        assert status == 200 and "Reviure el passeig marítim" in body.decode()
    finally:
        node.stop()
    assert town_rows(data) == seeded


def test_a_one_node_demo_directory_of_an_earlier_version_is_a_one_line_error(tmp_path):
    data = tmp_path / "old-demo"
    data.mkdir()
    write_initial_config(data, node_name="Ville de Démo")
    refused = run_demo(data, "--port", "0")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("civicnode: error: ") and "--reset" in refused.stderr
    assert sorted(p.name for p in data.iterdir()) == ["civicnode.toml"]
