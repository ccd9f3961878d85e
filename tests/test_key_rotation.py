"""Key rotation: `civicnode keys rotate`, actor documents listing revoked Ed25519 keys, proofs made
before a rotation staying valid (and later ones by the old key refused), and the Updates that
tell a space's followers and the nodes whose spaces a user follows.  SQLite and PostgreSQL; two real nodes over HTTP for the Update."""
from __future__ import annotations

import asyncio
import copy
import io
import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from apsig import ProofVerifier as ApsigProofVerifier
from sqlalchemy import select

from federation.actors import AssertionKey, build_actor, parse_remote_actor
from federation.keys import NodeKeys
from federation.proofs import ProofError, create_proof, verify_proof
from federation.vocab import AS_PUBLIC
from node.activitypub.inbox import remote_actors
from node.activitypub.keys_rotation import rotate
from node.activitypub.delivery_models import Delivery
from node.activitypub.follow_models import RemoteSpace, SpaceFollower
from node.activitypub.models import InboxActivity, RemoteActorRecord
from node.activitypub.worker import DELIVERY, KEY_CACHE_SECONDS
from node.appkeys import DB
from node.cli import main
from node.db import make_engine, make_sessionmaker
from node.db.base import utcnow
from node.keystore import ensure_keys, key_history, verification_method
from node.nodemodels import ActorKey
from tests.inbox_support import assert_refused, inbox_node, keys, post, post_as, remote_server
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_space, make_user
from tests.test_following import mirrored, settle

AP = {"Accept": "application/activity+json"}
BASE = "https://participa.example.org"


def note(actor: str) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/notes/{uuid.uuid4()}",
            "type": "Note", "attributedTo": actor, "content": "Signed words", "to": [AS_PUBLIC]}


def stamp(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the command ---------------------------------------------------------------------------------


def civicnode(*args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIVICNODE_")}
    return subprocess.run([sys.executable, "-m", "node", *args], capture_output=True, text=True,
                          env=environ, timeout=120)


def in_database(url: str, work):
    """Run ``work(db)`` in a transaction on the node's database (the test itself is synchronous)."""
    async def run():
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine).begin() as db:
                return await work(db)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def keys_of(url: str, owner_type: str) -> list[tuple[int, bool]]:
    async def work(db):
        rows = await db.scalars(select(ActorKey).where(ActorKey.owner_type == owner_type).order_by(ActorKey.id))
        return [(row.owner_id, row.revoked_at is not None) for row in rows]

    return in_database(url, work)


def test_keys_rotate_command_on_an_initialised_node(tmp_path, database_url, monkeypatch, capsys):
    data = tmp_path / "node"
    assert main(["init", "--data", str(data), "--database-url", database_url, "--base-url", BASE]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long admin passphrase\n"))
    assert main(["createadmin", "--data", str(data), "--username", "mayor", "--email", "mayor@example.org",
                 "--password-stdin"]) == 0

    async def add_space(db):
        from node.spaces.service import create_space

        space = await create_space(db, {"slug": "budget-2027", "kind": "process", "published": True,
                                        "title": {"en": "Budget 2027"}}, default_locale="en")
        await ensure_keys(db, "space", space.id)
        return space.id

    space_id = in_database(database_url, add_space)
    capsys.readouterr()

    done = civicnode("keys", "rotate", "--data", str(data), "--node")
    assert done.returncode == 0, done.stderr
    assert "Rotated the keys of the node actor: key 1 revoked at" in done.stdout
    assert f"Proofs are now made with {BASE}/actor#ed25519-key-2" in done.stdout
    assert keys_of(database_url, "node") == [(0, True), (0, False)]

    done = civicnode("keys", "rotate", "--data", str(data), "--space", "budget-2027")
    assert done.returncode == 0, done.stderr
    assert f"{BASE}/spaces/budget-2027#ed25519-key-2" in done.stdout
    assert "nobody follows this space" in done.stdout
    assert keys_of(database_url, "space") == [(space_id, True), (space_id, False)]

    done = civicnode("keys", "rotate", "--data", str(data), "--user", "Mayor")
    assert done.returncode == 0, done.stderr
    assert "user mayor had no keys: created its first key pair" in done.stdout
    assert "Nothing was sent: the user follows no space of another node" in done.stdout

    # Bad input: one line on stderr, status 1, and no key changed.
    before = {kind: keys_of(database_url, kind) for kind in ("node", "space", "user")}
    for args, message in ((["--space", "nowhere"], "no space has the address 'nowhere'"),
                          (["--user", "ghost"], "no user is called 'ghost'"),
                          ([], "say whose keys to rotate"),
                          (["--node", "--user", "mayor"], "say whose keys to rotate")):
        assert main(["keys", "rotate", "--data", str(data), *args]) == 1
        err = capsys.readouterr().err
        assert err.startswith("civicnode: error: ") and message in err and err.count("\n") == 1, err
    assert {kind: keys_of(database_url, kind) for kind in ("node", "space", "user")} == before


# --- actor documents and proofs ------------------------------------------------------------------


async def test_the_actor_document_lists_revoked_keys_and_old_proofs_stay_valid(web, app):
    space, _, _ = await make_space(app, "budget-2027")
    before = json.loads((await web.get("/spaces/budget-2027", headers=AP)).text)
    actor_id = before["id"]
    async with app[DB].begin() as db:
        old = await ensure_keys(db, "space", space.id)
        old_method = await verification_method(actor_id, old, db)
    assert old_method == actor_id + "#ed25519-key" == before["assertionMethod"][0]["id"]
    # Made a moment before the rotation (revocation times are published in whole seconds).
    earlier = create_proof(note(actor_id), old.ed25519_seed_hex, old_method, created=utcnow() - timedelta(seconds=5))

    async with app[DB].begin() as db:
        done = await rotate(db, base_url=web.base, default_locale="en", space="budget-2027")
    after = json.loads((await web.get("/spaces/budget-2027", headers=AP)).text)

    assert after["publicKey"] == {"id": actor_id + "#main-key", "owner": actor_id,
                                  "publicKeyPem": done.new.rsa_public_pem}
    assert done.new.rsa_public_pem != before["publicKey"]["publicKeyPem"]
    assert after["assertionMethod"] == [
        {"id": actor_id + "#ed25519-key-2", "type": "Multikey", "controller": actor_id,
         "publicKeyMultibase": done.new.ed25519_public_multibase},
        {"id": old_method, "type": "Multikey", "controller": actor_id,
         "publicKeyMultibase": old.ed25519_public_multibase, "revoked": stamp(done.revoked.revoked_at)},
    ]
    assert done.verification_method == actor_id + "#ed25519-key-2"

    actor = parse_remote_actor(after, actor_id)
    assert actor.public_key_pem == done.new.rsa_public_pem
    assert actor.multikeys[old_method].revoked == done.revoked.revoked_at.replace(microsecond=0)
    assert actor.multikeys[done.verification_method].revoked is None
    assert verify_proof(earlier, actor.multikeys.get) == old_method

    late = create_proof(note(actor_id), old.ed25519_seed_hex, old_method,
                        created=done.revoked.revoked_at + timedelta(seconds=1))
    with pytest.raises(ProofError, match="after the key .*#ed25519-key was revoked at"):
        verify_proof(late, actor.multikeys.get)
    undated = copy.deepcopy(earlier)
    del undated["proof"]["created"]
    with pytest.raises(ProofError, match="has no created time"):
        verify_proof(undated, actor.multikeys.get)

    async with app[DB].begin() as db:
        assert (await ensure_keys(db, "space", space.id)).id == done.new.id
        assert [k.id for k in await key_history(db, "space", space.id)] == [old.id, done.new.id]
    fresh = create_proof(note(actor_id), done.new.ed25519_seed_hex, done.verification_method)
    assert verify_proof(fresh, actor.multikeys.get) == done.verification_method
    # An independent implementation agrees (apsig pops proofValue from what it is given).
    apsig = ApsigProofVerifier(actor.multikeys[done.verification_method])
    assert apsig.verify(copy.deepcopy(fresh), raise_on_fail=True) == done.verification_method


async def test_a_third_key_is_numbered_and_each_rotation_is_published(web, app):
    await make_user(app, "amelie")
    async with app[DB].begin() as db:
        first = await rotate(db, base_url=web.base, default_locale="en", user="amelie")
    async with app[DB].begin() as db:
        second = await rotate(db, base_url=web.base, default_locale="en", user="amelie")
    assert first.revoked is None and first.verification_method.endswith("/users/amelie#ed25519-key")
    assert second.verification_method.endswith("/users/amelie#ed25519-key-2")
    async with app[DB].begin() as db:
        third = await rotate(db, base_url=web.base, default_locale="en", user="amelie")
    doc = json.loads((await web.get("/users/amelie", headers=AP)).text)
    ids = [entry["id"].rsplit("#", 1)[1] for entry in doc["assertionMethod"]]
    assert ids == ["ed25519-key-3", "ed25519-key-2", "ed25519-key"]
    assert [("revoked" in entry) for entry in doc["assertionMethod"]] == [False, True, True]
    assert third.verification_method == doc["assertionMethod"][0]["id"]


def test_remote_keys_with_an_unreadable_revocation_are_ignored():
    keys, other = NodeKeys.generate(), NodeKeys.generate()
    actor_id = "https://city.example/users/ana"
    doc = build_actor("Person", id=actor_id, preferred_username="ana", name="Ana", summary=None,
                      inbox=actor_id + "/inbox", outbox=actor_id + "/outbox", followers=actor_id + "/followers",
                      shared_inbox="https://city.example/inbox", url=actor_id, rsa_public_pem=keys.rsa_public_pem,
                      ed25519_multibase=keys.ed25519_public_multibase)
    doc["assertionMethod"] += [
        {"id": actor_id + "#ed25519-key-2", "type": "Multikey", "controller": actor_id,
         "publicKeyMultibase": other.ed25519_public_multibase, "revoked": "last Tuesday"},
        {"id": actor_id + "#ed25519-key-3", "type": "Multikey", "controller": actor_id,
         "publicKeyMultibase": other.ed25519_public_multibase, "revoked": "2030-01-01T00:00:00Z"},
    ]
    actor = parse_remote_actor(doc, actor_id)
    assert set(actor.multikeys) == {actor_id + "#ed25519-key", actor_id + "#ed25519-key-3"}
    assert isinstance(actor.multikeys[actor_id + "#ed25519-key-3"], AssertionKey)
    assert actor.multikeys[actor_id + "#ed25519-key-3"] == other.ed25519_public_multibase


# --- the Update, between two nodes ---------------------------------------------------------------


async def cached_space_key(town, actor_id: str) -> str:
    async with town.db() as db:
        return await db.scalar(select(RemoteActorRecord.public_key_pem).where(RemoteActorRecord.uri == actor_id))


async def test_followers_receive_the_update_and_accept_what_is_signed_after(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        space, component, _ = await space_with_component(city.app, "budget-2027")
        author = await make_user(city.app, "amelie")
        await make_proposal(city.app, space, component, author, title="Shade trees in the school yard")
        await settle(city)
        await make_user(town.app, "jordi")
        assert (await town.client.login("jordi", PASSWORD)).status == 200
        page = await town.client.post("/following", {"address": f"budget-2027@{city.host}"},
                                      csrf_from_path="/following")
        assert page.status == 200 and "?done=followed" in page.url
        await settle(town, city)
        group = f"{city.base_url}/spaces/budget-2027"
        old_pem = await cached_space_key(town, group)
        assert old_pem

        async with city.app[DB].begin() as db:
            old_amelie = await ensure_keys(db, "user", author.id)
            done = await rotate(db, base_url=city.base_url, default_locale="en", space="budget-2027")
            await rotate(db, base_url=city.base_url, default_locale="en", user="amelie")
        assert done.update_inboxes == 1
        await settle(city, town)
        async with town.db() as db:  # the Update waits until running workers use the new key
            assert await db.scalar(select(InboxActivity.id).where(InboxActivity.type == "Update")) is None
        # A minute passes (the worker's clock, and its key cache, which runs on the monotonic clock).
        worker = city.app[DELIVERY]["worker"]
        worker.clock = lambda: utcnow() + timedelta(seconds=KEY_CACHE_SECONDS + 1)
        worker._keys.clear()
        await settle(city, town)

        async with town.db() as db:
            [update] = (await db.scalars(select(InboxActivity).where(InboxActivity.type == "Update"))).all()
        assert (update.actor, update.status, update.error) == (group, "processed", None)
        assert update.activity_id == f"{group}/updates/key-{done.new.id}"
        assert await cached_space_key(town, group) == done.new.rsa_public_pem != old_pem
        cached = remote_actors(town.app).memory.get(group)
        assert cached.public_key_pem == done.new.rsa_public_pem
        assert cached.multikeys[group + "#ed25519-key"].revoked is not None
        assert cached.multikeys[group + "#ed25519-key-2"].revoked is None

        # Announced after the rotation: signed by the Group's new key, proved by amelie's new one.
        later = await make_proposal(city.app, space, component, author, title="A bike lane on the ring road")
        await settle(city, town)
        item = await mirrored(town, f"{group}/proposals/{later.id}")
        assert item is not None and item.name == "A bike lane on the ring road"

        # amelie's old key, used after its revocation, is refused by the town's inbox; what it
        # signed before the revocation is still accepted.  (The new proposal's proof made the
        # town refetch amelie, who sends no Update of her own.)
        amelie = f"{city.base_url}/users/amelie"
        for created, expected in ((utcnow(), 401), (done.revoked.revoked_at - timedelta(seconds=10), 202)):
            obj = create_proof(note(amelie), old_amelie.ed25519_seed_hex, amelie + "#ed25519-key", created=created)
            announce = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Announce",
                        "id": f"{city.base_url}/activities/test-{uuid.uuid4()}", "actor": group,
                        "object": obj, "to": [AS_PUBLIC]}
            status, payload = await post(town, "/inbox", announce, group + "#main-key", done.new.rsa_private_pem)
            if expected == 401:
                assert_refused(status, payload, 401, "bad_proof")
                assert "was revoked at" in payload["reason"]
            else:
                assert status == 202, payload


async def remote_multikeys(node, actor_id: str) -> list[str]:
    async with node.db() as db:
        doc = await db.scalar(select(RemoteActorRecord.document).where(RemoteActorRecord.uri == actor_id))
    return [entry["publicKeyMultibase"] for entry in doc["assertionMethod"]]


async def test_an_actor_update_refreshes_the_cache_from_the_origin_not_from_the_activity(tmp_path, database_url):
    async with remote_server(ana=keys(0), bob=keys(1)) as remote, inbox_node(tmp_path, database_url) as node:
        ana = remote.actor_id("ana")
        assert (await post_as(node, remote, "ana", remote.activity("ana")))[0] == 202  # ana is cached
        assert remote.hits["ana"] == 1
        # ana's Ed25519 key changes; her RSA key does not, so her signatures verify with the cached
        # copy and only the Update's handler makes the node fetch her again.
        remote.rotate("ana", replace(keys(0), ed25519_seed_hex=keys(2).ed25519_seed_hex,
                                     ed25519_public_multibase=keys(2).ed25519_public_multibase))
        claimed = remote.document("ana")
        claimed["assertionMethod"][0]["publicKeyMultibase"] = keys(3).ed25519_public_multibase
        status, payload = await post_as(node, remote, "ana", remote.activity("ana", kind="Update", obj=claimed))
        assert (status, payload["code"]) == (202, "accepted"), payload
        assert remote.hits["ana"] == 2
        assert await remote_multikeys(node, ana) == [keys(2).ed25519_public_multibase]
        assert remote_actors(node.app).memory.get(ana).multikeys[ana + "#ed25519-key"] == \
            keys(2).ed25519_public_multibase

        # Not an Update of the signer's own actor: nothing is fetched.
        for obj in (remote.document("bob"), remote.activity("ana")["object"]):
            status, payload = await post_as(node, remote, "ana", remote.activity("ana", kind="Update", obj=obj))
            assert (status, payload["code"]) == (202, "accepted"), payload
        assert (remote.hits["ana"], remote.hits["bob"]) == (2, 0)


# --- a user's Update, between two nodes ----------------------------------------------------------


async def cached_actor(node, actor_id: str) -> RemoteActorRecord:
    async with node.db() as db:
        return await db.scalar(select(RemoteActorRecord).where(RemoteActorRecord.uri == actor_id))


async def test_the_nodes_of_the_spaces_a_user_follows_receive_the_update_of_the_person(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "town"], database_url_for=database_url_for) as nodes:
        city, town = nodes["city"], nodes["town"]
        await space_with_component(city.app, "budget-2027")
        await space_with_component(city.app, "parks")
        await make_user(town.app, "jordi")
        await make_user(town.app, "nuria")  # follows nothing: her rotation tells nobody
        assert (await town.client.login("jordi", PASSWORD)).status == 200
        for slug in ("budget-2027", "parks"):
            page = await town.client.post("/following", {"address": f"{slug}@{city.host}"},
                                          csrf_from_path="/following")
            assert page.status == 200 and "?done=followed" in page.url
        await settle(town, city)
        jordi = f"{town.base_url}/users/jordi"
        old = await cached_actor(city, jordi)  # the city verified jordi's Follows with his first key
        assert old is not None

        async with town.app[DB].begin() as db:
            done = await rotate(db, base_url=town.base_url, default_locale="en", user="jordi")
            quiet = await rotate(db, base_url=town.base_url, default_locale="en", user="nuria")
        # Two spaces of one node: one delivery, to its shared inbox.
        assert done.update_inboxes == 1 and "queued for 1 inbox(es)" in done.note
        assert quiet.update_inboxes == 0 and "follows no space of another node" in quiet.note
        async with town.db() as db:
            queued = (await db.scalars(select(Delivery).where(Delivery.inbox_url.like("%/inbox")))).all()
        update_id = f"{jordi}/updates/key-{done.new.id}"
        assert [d.inbox_url for d in queued if d.status == "pending"] == [f"{city.base_url}/inbox"]

        await settle(town, city)
        async with city.db() as db:  # the Update waits until running workers use the new key
            assert await db.scalar(select(InboxActivity.id).where(InboxActivity.type == "Update")) is None
        worker = town.app[DELIVERY]["worker"]
        worker.clock = lambda: utcnow() + timedelta(seconds=KEY_CACHE_SECONDS + 1)
        worker._keys.clear()
        await settle(town, city)

        async with city.db() as db:
            [update] = (await db.scalars(select(InboxActivity).where(InboxActivity.type == "Update"))).all()
        assert (update.activity_id, update.actor, update.status, update.error) == (update_id, jordi, "processed", None)
        assert update.key_id == jordi + "#main-key"
        assert update.body["object"]["publicKey"]["publicKeyPem"] == done.new.rsa_public_pem
        # The city's copy of jordi, in its table and in memory, has the new keys.
        refreshed = await cached_actor(city, jordi)
        assert refreshed.public_key_pem == done.new.rsa_public_pem != old.public_key_pem
        cached = remote_actors(city.app).memory.get(jordi)
        assert cached.public_key_pem == done.new.rsa_public_pem
        assert cached.multikeys[jordi + "#ed25519-key"].revoked is not None
        assert cached.multikeys[jordi + "#ed25519-key-2"].revoked is None
        # The Update is public: served at its id as the city received it.
        async with town.client.session.get(update_id, headers=AP) as response:
            assert (response.status, await response.json(content_type=None)) == (200, update.body)

        # What jordi's node signs now verifies with the cached copy: his Undo is accepted and the
        # city does not fetch him again.
        async with town.db() as db:
            followed = await db.scalar(select(RemoteSpace.id).where(RemoteSpace.uri.endswith("/budget-2027")))
        page = await town.client.post(f"/following/{followed}/unfollow", csrf_from_path=f"/following/{followed}")
        assert page.status == 200 and "done=unfollowed" in page.url
        await settle(town, city)
        async with city.db() as db:
            [undo] = (await db.scalars(select(InboxActivity).where(InboxActivity.type == "Undo"))).all()
            followers = (await db.scalars(select(SpaceFollower.space_id))).all()
        assert (undo.actor, undo.status, undo.key_id) == (jordi, "processed", jordi + "#main-key")
        assert len(followers) == 1  # still follows the parks
        assert (await cached_actor(city, jordi)).fetched_at == refreshed.fetched_at
