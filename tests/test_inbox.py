"""The inbox over real HTTP: signed activities from a remote server and from another node are
verified, stored once and dispatched; replays, rotation, policy and handler failures."""
from __future__ import annotations

import asyncio
import json

from aiohttp import ClientSession
from sqlalchemy import select

from federation.signatures import sign_request
from node.activitypub.inbox import POLICIES, register_inbox_handler
from node.activitypub.models import RemoteActorRecord
from node.appkeys import DB
from node.keystore import ensure_node_keys
from tests.inbox_support import (
    assert_refused, count, inbox_node, keys, post, post_as, remote_server, set_policy, stored,
)


async def test_a_signed_create_is_verified_stored_and_dispatched(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        activity = remote.activity("alice")
        status, payload = await post_as(node, remote, "alice", activity)
        assert (status, payload["code"], payload["activity"]) == (202, "accepted", activity["id"])
        [row] = await stored(node)
        assert (row.activity_id, row.actor, row.type, row.status) == (
            activity["id"], remote.actor_id("alice"), "Create", "processed")
        assert row.body == activity and row.recipient is None and row.key_id == remote.key_id("alice")
        assert node.calls == [(None, activity, remote.actor_id("alice"))]
        async with node.db() as db:
            cached = await db.scalar(select(RemoteActorRecord))
        assert (cached.uri, cached.key_id, cached.host) == (
            remote.actor_id("alice"), remote.key_id("alice"), remote.host)
        assert cached.public_key_pem == keys(0).rsa_public_pem and cached.document["type"] == "Person"

        # A second activity uses the cached actor: no second fetch.
        assert (await post_as(node, remote, "alice", remote.activity("alice")))[0] == 202
        assert remote.hits["alice"] == 1


async def test_actor_inboxes_know_their_recipient_and_get_is_not_allowed(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        status, _ = await post_as(node, remote, "alice", remote.activity("alice"), path="/actor/inbox")
        assert status == 202 and node.calls[0][0] == node.base_url + "/actor"
        status, payload = await post_as(node, remote, "alice", remote.activity("alice"), path="/users/nobody/inbox")
        assert status == 404 and await count(node) == 1
        for path in ("/inbox", "/actor/inbox", "/spaces/anything/inbox", "/users/nobody/inbox"):
            page = await node.client.get(path)
            assert page.status == 405 and "POST" in page.headers.get("Allow", ""), path


async def test_a_second_node_signing_with_its_node_key_is_accepted(tmp_path, database_url):
    async with inbox_node(tmp_path, database_url) as city, \
            inbox_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'town.db'}", name="town") as town:
        async with town.app[DB].begin() as db:
            key = await ensure_node_keys(db)
        actor = town.base_url + "/actor"
        activity = {"id": town.base_url + "/activities/1", "type": "Create", "actor": actor,
                    "object": {"id": town.base_url + "/notes/1", "type": "Note", "attributedTo": actor}}
        status, payload = await post(city, "/inbox", activity, actor + "#main-key", key.rsa_private_pem)
        assert (status, payload["code"]) == (202, "accepted")
        assert city.calls[0][2] == actor


async def test_replays_are_accepted_and_do_nothing_even_concurrently(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        activity = remote.activity("alice")
        assert (await post_as(node, remote, "alice", activity))[1]["code"] == "accepted"
        status, payload = await post_as(node, remote, "alice", activity)
        assert (status, payload["code"]) == (202, "duplicate")
        assert await count(node) == 1 and len(node.calls) == 1

        again = remote.activity("alice")
        answers = await asyncio.gather(*(post_as(node, remote, "alice", again) for _ in range(5)))
        assert all(status == 202 for status, _ in answers)
        assert sorted(p["code"] for _, p in answers) == ["accepted"] + ["duplicate"] * 4
        assert await count(node) == 2 and len(node.calls) == 2


async def test_unknown_types_are_accepted_stored_as_ignored_and_not_dispatched(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        activity = remote.activity("alice", kind="EmojiReact", obj=remote.actor_id("alice") + "/statuses/1")
        status, payload = await post_as(node, remote, "alice", activity)
        assert (status, payload["code"]) == (202, "ignored")
        [row] = await stored(node)
        assert row.status == "ignored" and node.calls == []


async def test_handlers_whose_test_refuses_an_activity_are_not_dispatched(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        seen = []

        async def attested_only(ctx, activity, actor):
            seen.append(activity["id"])

        attested_only.accepts = lambda activity: "attestation" in activity
        register_inbox_handler(node.app, "EmojiReact", attested_only)  # nobody else's type
        plain = remote.activity("alice", kind="EmojiReact", obj=node.base_url + "/spaces/x")
        status, payload = await post_as(node, remote, "alice", plain)
        assert (status, payload["code"]) == (202, "ignored") and seen == []
        attested = {**remote.activity("alice", kind="EmojiReact", obj=node.base_url + "/spaces/x"), "attestation": {}}
        status, payload = await post_as(node, remote, "alice", attested)
        assert (status, payload["code"]) == (202, "accepted") and seen == [attested["id"]]
        assert sorted(row.status for row in await stored(node)) == ["ignored", "processed"]


async def test_a_failing_handler_is_recorded_and_still_answers_202(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        async def broken(ctx, activity, actor):
            raise RuntimeError("component bug")

        register_inbox_handler(node.app, "Like", broken)
        activity = remote.activity("alice", kind="Like", obj=node.base_url + "/spaces/x")
        status, payload = await post_as(node, remote, "alice", activity)
        assert (status, payload["code"]) == (202, "handler_failed")
        [row] = await stored(node)
        assert row.status == "failed" and "component bug" in row.error
        assert (await post_as(node, remote, "alice", activity))[1]["code"] == "duplicate"


async def test_key_rotation_refetches_the_actor_once(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        assert (await post_as(node, remote, "alice", remote.activity("alice")))[0] == 202
        remote.rotate("alice", keys(1))
        status, payload = await post_as(node, remote, "alice", remote.activity("alice"))
        assert (status, payload["code"]) == (202, "accepted")
        assert remote.hits["alice"] == 2
        async with node.db() as db:
            assert (await db.scalar(select(RemoteActorRecord))).public_key_pem == keys(1).rsa_public_pem

        # A forged signature right after does not make the node fetch the actor again (no
        # amplification: at most one rotation refetch per actor per minute).
        forged = await post(node, "/inbox", remote.activity("alice"), remote.key_id("alice"), keys(2).rsa_private_pem)
        assert_refused(*forged, 401, "signature_bad_signature")
        assert remote.hits["alice"] == 2 and await count(node) == 2


async def test_blocked_instances_are_refused_without_any_fetch(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        await set_policy(node, remote.host, "block")
        status, payload = await post_as(node, remote, "alice", remote.activity("alice"))
        assert_refused(status, payload, 403, "instance_refused")
        assert "blocked" in payload["reason"] and remote.hits["alice"] == 0 and await count(node) == 0
        await node.app[POLICIES].remove(remote.host)
        assert (await post_as(node, remote, "alice", remote.activity("alice")))[0] == 202


async def test_allowlist_mode_accepts_only_allowed_hosts(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, \
            inbox_node(tmp_path, database_url, federation_mode="allowlist") as node:
        status, payload = await post_as(node, remote, "alice", remote.activity("alice"))
        assert_refused(status, payload, 403, "instance_refused")
        assert "approved partners" in payload["reason"] and await count(node) == 0
        await set_policy(node, remote.host, "allow")
        assert (await post_as(node, remote, "alice", remote.activity("alice")))[0] == 202


async def test_an_actor_on_a_private_address_is_not_fetched_without_lan_mode(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, \
            inbox_node(tmp_path, database_url, allow_private_addresses="false") as node:
        status, payload = await post_as(node, remote, "alice", remote.activity("alice"))
        assert_refused(status, payload, 401, "key_fetch_refused")
        assert "127.0.0.1" in payload["reason"] and remote.hits["alice"] == 0 and await count(node) == 0


async def test_an_activity_from_an_unavailable_host_resumes_deliveries_to_it(tmp_path, database_url):
    """A host we had given up on sends us something: it is up again, so deliveries resume."""
    from datetime import timedelta

    from node.activitypub.delivery_models import HostState
    from node.db.base import utcnow

    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        async with node.app[DB].begin() as db:
            db.add(HostState(host=remote.host, consecutive_failures=40,
                             first_failure_at=utcnow() - timedelta(days=8),
                             unavailable_since=utcnow() - timedelta(days=1)))
        assert (await post_as(node, remote, "alice", remote.activity("alice")))[0] == 202
        async with node.db() as db:
            state = await db.scalar(select(HostState).where(HostState.host == remote.host))
        assert state.unavailable_since is None and state.consecutive_failures == 0


async def test_inbox_answers_carry_no_browser_cookies(tmp_path, database_url):
    async with remote_server(alice=keys(0)) as remote, inbox_node(tmp_path, database_url) as node:
        raw = json.dumps(remote.activity("alice")).encode()
        url = node.base_url + "/inbox"
        headers = sign_request("POST", url, {"Content-Type": "application/activity+json"}, raw,
                               remote.key_id("alice"), remote.actors["alice"].rsa_private_pem)
        async with ClientSession() as session:
            async with session.post(url, data=raw, headers=headers) as response:
                assert response.status == 202
                assert "Set-Cookie" not in response.headers
