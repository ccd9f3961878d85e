"""FEP-8b32 proofs at the inbox: a proof decides authorship over the HTTP signature, and an
Announce may embed another server's object only when that object's proof verifies."""
from __future__ import annotations

from tests.inbox_support import assert_refused, count, inbox_node, keys, post_as, remote_server, stored


async def test_a_forwarded_activity_with_the_authors_proof_is_accepted(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as home, remote_server(group=keys(1)) as relay, \
            inbox_node(tmp_path, database_url) as node:
        activity = home.prove("alice", home.activity("alice"))
        # Signed (HTTP) by the relaying group on another server, authored (proof) by alice.
        status, payload = await post_as(node, relay, "group", activity)
        assert (status, payload["code"]) == (202, "accepted")
        assert node.calls[0][2] == home.actor_id("alice")


async def test_a_proof_that_does_not_verify_is_refused_even_with_a_good_signature(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        activity = remote.prove("alice", remote.activity("alice"))
        activity["object"]["content"] = "altered after signing"
        status, payload = await post_as(node, remote, "alice", activity)
        assert_refused(status, payload, 401, "bad_proof")
        assert await count(node) == 0


async def test_a_proof_by_someone_else_than_the_actor_is_refused(tmp_path, database_url):
    async with remote_server(alice=keys(0), bob=keys(1)) as remote, inbox_node(tmp_path, database_url) as node:
        activity = remote.prove("bob", remote.activity("alice"))
        status, payload = await post_as(node, remote, "bob", activity)
        assert_refused(status, payload, 401, "bad_proof")
        assert await count(node) == 0


async def test_an_announced_foreign_object_without_proof_is_kept_by_reference(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as home, remote_server(group=keys(1)) as group_server, \
            inbox_node(tmp_path, database_url) as node:
        note = home.activity("alice")["object"]
        note["content"] = "forged words put in alice's mouth"
        announce = group_server.activity("group", kind="Announce", obj=note)
        status, payload = await post_as(node, group_server, "group", announce)
        assert (status, payload["code"]) == (202, "accepted")
        [row] = await stored(node)
        assert row.body["object"] == note["id"] and node.calls[0][1]["object"] == note["id"]


async def test_an_announced_foreign_object_with_its_authors_proof_stays_embedded(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as home, remote_server(group=keys(1)) as group_server, \
            inbox_node(tmp_path, database_url) as node:
        note = home.prove("alice", home.activity("alice")["object"])
        announce = group_server.activity("group", kind="Announce", obj=note)
        assert (await post_as(node, group_server, "group", announce))[0] == 202
        assert node.calls[0][1]["object"] == note

        tampered = dict(home.prove("alice", home.activity("alice")["object"]), content="changed")
        announce = group_server.activity("group", kind="Announce", obj=tampered)
        answer = await post_as(node, group_server, "group", announce)
        assert_refused(*answer, 401, "bad_proof")
        assert await count(node) == 1
