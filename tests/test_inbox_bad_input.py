"""Bad input (issue "Federation core"): each refused with the right 4xx and a reason, nothing
stored, no handler called.  Real HTTP; the sender is a small server with real keys."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.inbox_support import assert_refused, count, inbox_node, keys, post, post_as, remote_server


@pytest.fixture
async def setup(tmp_path, database_url):
    async with remote_server(alice=keys(0), bob=keys(1)) as remote, \
            remote_server(mallory=keys(2)) as elsewhere, inbox_node(tmp_path, database_url) as node:
        yield remote, elsewhere, node
    # Every case below must leave the inbox empty and the handlers untouched.


async def refused(node, answer, status, code):
    assert_refused(*answer, status, code)
    assert await count(node) == 0 and node.calls == []


async def test_missing_signature(setup):
    remote, _, node = setup
    await refused(node, await post(node, "/inbox", remote.activity("alice"), None, None), 401, "signature_missing")


async def test_invalid_signature(setup):
    remote, _, node = setup
    forged = await post(node, "/inbox", remote.activity("alice"), remote.key_id("alice"), keys(2).rsa_private_pem)
    await refused(node, forged, 401, "signature_bad_signature")


async def test_signature_of_another_actor_of_the_same_host(setup):
    remote, _, node = setup
    answer = await post(node, "/inbox", remote.activity("alice"), remote.key_id("bob"), keys(1).rsa_private_pem)
    await refused(node, answer, 401, "signer_not_actor")


async def test_wrong_digest(setup):
    remote, _, node = setup
    activity = remote.activity("alice")
    tampered = json.dumps(dict(activity, content="changed")).encode()
    await refused(node, await post_as(node, remote, "alice", activity, send_body=tampered), 401, "digest_mismatch")


async def test_stale_date(setup):
    remote, _, node = setup
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    answer = await post_as(node, remote, "alice", remote.activity("alice"), now=two_hours_ago)
    await refused(node, answer, 401, "signature_stale")


async def test_key_id_of_another_host_than_the_actor(setup):
    remote, elsewhere, node = setup
    answer = await post(node, "/inbox", remote.activity("alice"), elsewhere.key_id("mallory"),
                        keys(2).rsa_private_pem)
    await refused(node, answer, 401, "key_not_actor")
    assert elsewhere.hits["mallory"] == 0  # refused before any fetch


@pytest.mark.parametrize("where", ["activity id", "object id", "object attributedTo"])
async def test_actor_and_object_origin_mismatch(setup, where):
    remote, elsewhere, node = setup
    activity = remote.activity("alice")
    if where == "activity id":
        activity["id"] = elsewhere.base + "/activities/1"
    elif where == "object id":
        activity["object"]["id"] = elsewhere.base + "/notes/1"
    else:
        activity["object"]["attributedTo"] = elsewhere.actor_id("mallory")
    await refused(node, await post_as(node, remote, "alice", activity), 403, "origin_mismatch")


async def test_body_over_the_limit(setup):
    remote, _, node = setup
    activity = remote.activity("alice")
    activity["object"]["content"] = "x" * (1024 * 1024)
    await refused(node, await post_as(node, remote, "alice", activity), 413, "too_large")


@pytest.mark.parametrize("body, code", [
    (b"<html>not json</html>", "not_json"),
    (b"", "not_json"),
    (b'["an", "array"]', "not_object"),
])
async def test_non_json_or_not_an_object(setup, body, code):
    remote, _, node = setup
    await refused(node, await post_as(node, remote, "alice", body), 400, code)


@pytest.mark.parametrize("shape, code", [
    ("deep", "too_deep"), ("very deep", "too_deep"), ("wide", "too_many_items"), ("long string", "string_too_long"),
])
async def test_json_ld_bombs(setup, shape, code):
    remote, _, node = setup
    activity = remote.activity("alice")
    if shape == "deep":
        nested = "x"
        for _ in range(40):
            nested = {"@list": [nested]}
        activity["object"]["content"] = nested
        body = activity
    elif shape == "very deep":  # deeper than the JSON parser's own recursion limit
        body = (b'{"id": "x", "a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    elif shape == "wide":
        activity["object"]["tag"] = [{"type": "Hashtag", "name": "#x"}] * 6000
        body = activity
    else:
        activity["object"]["content"] = "x" * (600 * 1024)
        body = activity
    await refused(node, await post_as(node, remote, "alice", body), 400, code)


@pytest.mark.parametrize("change, code", [
    (lambda a: a.pop("id"), "no_id"),
    (lambda a: a.update(id="urn:uuid:1234"), "bad_id"),
    (lambda a: a.pop("actor"), "bad_actor"),
    (lambda a: a.pop("type"), "no_type"),
])
async def test_activities_without_usable_id_actor_or_type(setup, change, code):
    remote, _, node = setup
    activity = remote.activity("alice")
    change(activity)
    await refused(node, await post_as(node, remote, "alice", activity), 400, code)


async def test_an_actor_that_does_not_exist(setup):
    remote, _, node = setup
    activity = remote.activity("alice")
    activity["actor"] = remote.actor_id("ghost")
    activity["object"]["attributedTo"] = activity["actor"]
    answer = await post(node, "/inbox", activity, remote.actor_id("ghost") + "#main-key", keys(0).rsa_private_pem)
    await refused(node, answer, 401, "key_unavailable")
