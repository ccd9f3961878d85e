"""Actor documents: building ours, distrusting remote ones, and the actor cache
(federation/actors.py). Discovery (vocabulary, WebFinger, NodeInfo) is in
test_federation_discovery.py.

Uses no node/ fixture: federation/ is a standalone protocol library.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from federation.actors import (
    ActorCache,
    ActorError,
    RemoteActor,
    build_actor,
    key_owner_matches,
    parse_remote_actor,
)
from federation.keys import NodeKeys
from federation.vocab import (
    AS_CONTEXT,
    CIVICNODE_NS,
    MULTIKEY_V1,
    SECURITY_V1,
)

BASE = "https://city.example"


@pytest.fixture(scope="module")
def keys():
    return NodeKeys.generate()


@pytest.fixture(scope="module")
def other_keys():
    return NodeKeys.generate()


def actor_doc(keys: NodeKeys, kind: str = "Person", base: str = BASE, path: str = "/users/alice", **extra):
    actor_id = base + path
    return build_actor(
        kind, id=actor_id, preferred_username=path.rsplit("/", 1)[-1], name="Alice",
        summary="Resident", inbox=actor_id + "/inbox", outbox=actor_id + "/outbox",
        followers=actor_id + "/followers", shared_inbox=base + "/inbox", url=base + "/@alice",
        rsa_public_pem=keys.rsa_public_pem, ed25519_multibase=keys.ed25519_public_multibase, **extra,
    )


# --- building ----------------------------------------------------------------------------------


def test_built_actor_has_both_keys_in_the_shapes_mastodon_and_fep_521a_expect(keys):
    doc = actor_doc(keys, icon=BASE + "/avatar.png")
    actor_id = BASE + "/users/alice"
    assert doc["@context"][:4] == [AS_CONTEXT, SECURITY_V1, "https://www.w3.org/ns/did/v1", MULTIKEY_V1]
    assert doc["@context"][-1]["cn"] == CIVICNODE_NS
    assert doc["type"] == "Person" and doc["id"] == actor_id
    assert doc["publicKey"] == {"id": actor_id + "#main-key", "owner": actor_id,
                                "publicKeyPem": keys.rsa_public_pem}
    assert doc["assertionMethod"] == [{"id": actor_id + "#ed25519-key", "type": "Multikey",
                                       "controller": actor_id,
                                       "publicKeyMultibase": keys.ed25519_public_multibase}]
    assert doc["endpoints"] == {"sharedInbox": BASE + "/inbox"}
    assert doc["manuallyApprovesFollowers"] is False and doc["discoverable"] is True
    assert doc["icon"] == {"type": "Image", "url": BASE + "/avatar.png"}
    assert doc["url"] == BASE + "/@alice" and doc["summary"] == "Resident"


def test_build_actor_checks_kind_and_protects_identity_fields(keys):
    with pytest.raises(ValueError, match="actor kind"):
        actor_doc(keys, kind="Service")
    with pytest.raises(ValueError, match="'publicKey'"):
        actor_doc(keys, extra={"publicKey": {}})
    group = actor_doc(keys, kind="Group", path="/spaces/budget-2027",
                      extra={"federationPolicy": "partners", "attributedTo": BASE + "/spaces/b/mods"})
    assert group["type"] == "Group" and group["federationPolicy"] == "partners"


@pytest.mark.parametrize("kind", ["Application", "Group", "Person"])
def test_actor_documents_round_trip_through_parse_remote_actor(keys, kind):
    doc = actor_doc(keys, kind=kind, manually_approves_followers=True)
    actor = parse_remote_actor(doc, doc["id"])
    assert actor == RemoteActor(
        id=doc["id"], kind=kind, inbox=doc["inbox"], shared_inbox=BASE + "/inbox",
        public_key_id=doc["id"] + "#main-key", public_key_pem=keys.rsa_public_pem,
        multikeys={doc["id"] + "#ed25519-key": keys.ed25519_public_multibase},
        preferred_username="alice", name="Alice", outbox=doc["outbox"], followers=doc["followers"],
        url=BASE + "/@alice", manually_approves_followers=True,
    )
    assert actor.delivery_inbox == BASE + "/inbox"
    assert actor.owns_key(doc["id"] + "#main-key") and actor.owns_key(doc["id"] + "#ed25519-key")
    assert not actor.owns_key(BASE + "/users/bob#main-key")
    assert keys.rsa_public_pem not in repr(actor)


def test_a_mastodon_shaped_actor_parses(keys):
    doc = {
        "@context": [AS_CONTEXT, SECURITY_V1], "id": "https://social.example/users/bob",
        "type": "Person", "preferredUsername": "bob", "inbox": "https://social.example/users/bob/inbox",
        "endpoints": {"sharedInbox": "https://social.example/inbox"},
        "url": [{"type": "Link", "href": "https://social.example/@bob"}],
        "publicKey": [{"id": "https://social.example/users/bob#main-key",
                       "owner": "https://social.example/users/bob", "publicKeyPem": keys.rsa_public_pem}],
    }
    actor = parse_remote_actor(doc, "https://social.example/users/bob")
    assert actor.multikeys == {} and actor.url == "https://social.example/@bob"
    assert actor.public_key_id == "https://social.example/users/bob#main-key"


# --- distrusting remote actors -----------------------------------------------------------------


def test_an_actor_fetched_from_another_origin_is_refused(keys):
    doc = actor_doc(keys)
    for url in ("https://evil.example/users/alice", "http://city.example/users/alice",
                "https://city.example:8443/users/alice"):
        with pytest.raises(ActorError) as caught:
            parse_remote_actor(doc, url)
        assert caught.value.code == "origin_mismatch"
        assert "does not have the origin of" in str(caught.value)
    # Default ports are the same origin.
    assert parse_remote_actor(doc, "https://CITY.example:443/users/alice").id == doc["id"]


def test_a_key_owned_by_someone_else_is_refused(keys):
    doc = actor_doc(keys)
    doc["publicKey"]["owner"] = BASE + "/users/mallory"
    with pytest.raises(ActorError) as caught:
        parse_remote_actor(doc, doc["id"])
    assert caught.value.code == "key_owner_mismatch"
    assert "owned by 'https://city.example/users/mallory'" in str(caught.value)


def test_a_key_id_on_another_origin_is_refused(keys):
    doc = actor_doc(keys)
    doc["publicKey"]["id"] = "https://evil.example/keys/1"
    with pytest.raises(ActorError) as caught:
        parse_remote_actor(doc, doc["id"])
    assert caught.value.code == "key_owner_mismatch"


@pytest.mark.parametrize("mutate, code, message", [
    (lambda d: d.pop("inbox"), "malformed", "has no inbox"),
    (lambda d: d.update(inbox="https://victim.example/inbox"), "origin_mismatch", "inbox"),
    (lambda d: d.update(endpoints={"sharedInbox": "https://victim.example/inbox"}), "origin_mismatch", "shared inbox"),
    (lambda d: d.pop("publicKey"), "missing_key", "no publicKey"),
    (lambda d: d["publicKey"].pop("publicKeyPem"), "missing_key", "no publicKeyPem"),
    (lambda d: d["publicKey"].update(publicKeyPem="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
     "bad_key", "unusable"),
    (lambda d: d.update(type="Note"), "not_actor", "is not an actor"),
    (lambda d: d.update(id="ftp://city.example/users/alice"), "malformed", "no http(s) id"),
    (lambda d: d.pop("id"), "malformed", "no http(s) id"),
])
def test_unusable_actor_documents_are_refused(keys, mutate, code, message):
    doc = copy.deepcopy(actor_doc(keys))
    mutate(doc)
    with pytest.raises(ActorError) as caught:
        parse_remote_actor(doc, BASE + "/users/alice")
    assert caught.value.code == code
    assert message in str(caught.value)


def test_non_conformant_multikeys_are_ignored_not_fatal(keys, other_keys):
    doc = actor_doc(keys)
    actor_id = doc["id"]
    good = doc["assertionMethod"][0]
    doc["assertionMethod"] = [
        good,
        {**good, "id": actor_id + "#other-controller", "controller": BASE + "/users/mallory"},
        {**good, "id": "https://evil.example/k#1"},
        {**good, "id": actor_id + "#expired", "expires": "2020-01-01T00:00:00Z"},
        {**good, "id": actor_id + "#not-ed25519", "publicKeyMultibase": "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"},
        {**good, "id": actor_id + "#future", "expires": "2999-01-01T00:00:00Z",
         "publicKeyMultibase": other_keys.ed25519_public_multibase},
        {**good, "id": actor_id + "#wrong-type", "type": "Ed25519VerificationKey2020"},
        "https://city.example/keys/just-a-link",
    ]
    actor = parse_remote_actor(doc, actor_id, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert actor.multikeys == {actor_id + "#ed25519-key": keys.ed25519_public_multibase,
                               actor_id + "#future": other_keys.ed25519_public_multibase}


def test_key_owner_matches_is_an_origin_check():
    actor = "https://social.example/users/bob"
    assert key_owner_matches(actor + "#main-key", actor)
    assert key_owner_matches(actor + "/main-key", actor)  # GoToSocial
    assert not key_owner_matches("https://evil.example/users/bob#main-key", actor)
    assert not key_owner_matches("http://social.example/users/bob#main-key", actor)
    assert not key_owner_matches("not a url", actor)


# --- cache -------------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def remote(keys, name: str) -> RemoteActor:
    doc = actor_doc(keys, path=f"/users/{name}")
    return parse_remote_actor(doc, doc["id"])


def test_actor_cache_expires_entries(keys):
    clock = Clock()
    cache = ActorCache(ttl=60, clock=clock)
    alice = remote(keys, "alice")
    cache.put(alice)
    assert cache.get(alice.id) is alice
    assert cache.get_by_key(alice.public_key_id) is alice
    clock.now += 61
    assert cache.get(alice.id) is None and cache.get_by_key(alice.public_key_id) is None
    assert len(cache) == 0


def test_actor_cache_is_bounded_and_evicts_the_least_recently_used(keys):
    cache = ActorCache(max_size=2, clock=Clock())
    a, b, c = (remote(keys, n) for n in "abc")
    cache.put(a)
    cache.put(b)
    cache.get(a.id)  # a is now more recent than b
    cache.put(c)
    assert len(cache) == 2
    assert cache.get(b.id) is None and cache.get(a.id) is a and cache.get(c.id) is c
    assert cache.get_by_key(b.public_key_id) is None


def test_actor_cache_invalidate_and_key_rotation(keys, other_keys):
    cache = ActorCache(clock=Clock())
    old = remote(keys, "alice")
    cache.put(old)
    rotated_doc = actor_doc(other_keys)
    rotated_doc["publicKey"]["id"] = rotated_doc["id"] + "#key-2"
    rotated = parse_remote_actor(rotated_doc, rotated_doc["id"])
    cache.put(rotated)
    assert cache.get(old.id) is rotated
    assert cache.get_by_key(old.public_key_id) is None
    assert cache.get_by_key(rotated.public_key_id) is rotated
    cache.invalidate(rotated.id)
    assert cache.get(rotated.id) is None and cache.get_by_key(rotated.public_key_id) is None
    cache.invalidate("https://never.example/seen")  # no error
