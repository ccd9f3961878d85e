"""Actors, vocabulary, WebFinger and NodeInfo (federation/actors.py, vocab.py, webfinger.py,
nodeinfo.py), with discovery exercised end to end against a real aiohttp server on loopback.

Uses no node/ fixture: federation/ is a standalone protocol library.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.actors import (
    ActorCache,
    ActorError,
    RemoteActor,
    build_actor,
    fetch_actor,
    key_owner_matches,
    parse_remote_actor,
)
from federation.fetch import FetchError, SafeFetcher
from federation.keys import NodeKeys
from federation.nodeinfo import (
    NODEINFO_21_REL,
    nodeinfo_document,
    nodeinfo_links,
    nodeinfo_url_from_links,
    validate_nodeinfo,
)
from federation.vocab import (
    AS_CONTEXT,
    CIVICNODE_NS,
    MULTIKEY_V1,
    SECURITY_V1,
    context_document,
    id_of,
    is_activity_json,
    json_depth,
    same_origin,
    types_of,
)
from federation.webfinger import (
    PROFILE_PAGE_REL,
    WebFingerError,
    actor_url_from_jrd,
    host_meta_xml,
    parse_acct,
    resolve_webfinger,
    webfinger_document,
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


# --- vocabulary --------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type, expected", [
    ("application/activity+json", True),
    ("application/activity+json; charset=utf-8", True),
    ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
    ("Application/LD+JSON", True),
    ('application/ld+json; profile="https://example.org/other"', False),
    ("application/json", False),
    ("text/html", False),
    (None, False),
])
def test_is_activity_json(content_type, expected):
    assert is_activity_json(content_type) is expected


def test_vocabulary_helpers():
    assert types_of({"type": "Note"}) == ["Note"]
    assert types_of({"type": ["Article", "cn:Proposal", 3]}) == ["Article", "cn:Proposal"]
    assert types_of({}) == [] and types_of("Note") == []
    assert id_of("https://a.example/x") == "https://a.example/x"
    assert id_of({"id": "https://a.example/x", "type": "Note"}) == "https://a.example/x"
    assert id_of({"type": "Note"}) is None and id_of(None) is None and id_of("") is None
    assert same_origin("https://a.example/x", "https://A.example:443/y")
    assert same_origin("http://a.example:80/x", "http://a.example/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")
    assert not same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not same_origin("https://a.example/x", "https://b.a.example/x")
    assert not same_origin("https://a.example:99999/x", "https://a.example:99999/x")
    assert not same_origin(None, "https://a.example/")
    assert json_depth({"a": [{"b": 1}]}) == 3 and json_depth(1) == 0
    assert json_depth([[[[[]]]]], limit=3) == 4


def test_the_civicnode_context_document_defines_the_extension_terms():
    context = context_document()["@context"]
    assert context["cn"] == CIVICNODE_NS
    for term in ("state", "supportCount", "fingerprint", "alignment", "cost", "Ballot", "federationPolicy"):
        assert term in context, term
    assert context["supportCount"]["@id"] == "cn:supportCount"
    context["supportCount"]["@id"] = "changed"  # a caller's copy, not the shared constant
    assert context_document()["@context"]["supportCount"]["@id"] == "cn:supportCount"


# --- WebFinger ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("@alice@City.Example", ("alice", "city.example")),
    ("alice@city.example", ("alice", "city.example")),
    ("acct:budget-2027@city.example", ("budget-2027", "city.example")),
    ("ACCT:alice@city.example", ("alice", "city.example")),
    ("acct:ali%20ce@city.example", None),
    ("acct:alice@127.0.0.1:8080", ("alice", "127.0.0.1:8080")),
    ("@alice", None), ("alice@", None), ("@a@b@c", None), ("alice@city.example/path", None),
    ("", None), ("acct:@city.example", None),
])
def test_parse_acct(value, expected):
    if expected is None:
        with pytest.raises(WebFingerError):
            parse_acct(value)
    else:
        assert parse_acct(value) == expected


def test_webfinger_document_and_host_meta():
    jrd = webfinger_document("acct:alice@city.example", BASE + "/users/alice", BASE + "/@alice")
    assert jrd == {
        "subject": "acct:alice@city.example",
        "aliases": [BASE + "/users/alice", BASE + "/@alice"],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": BASE + "/users/alice"},
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": BASE + "/@alice"},
        ],
    }
    assert actor_url_from_jrd(jrd) == BASE + "/users/alice"
    xml = host_meta_xml(BASE + "/")
    assert 'template="https://city.example/.well-known/webfinger?resource={uri}"' in xml
    assert 'rel="lrdd"' in xml and xml.startswith("<?xml")


def test_actor_url_from_jrd_needs_an_activitypub_self_link():
    with pytest.raises(WebFingerError, match="no ActivityPub self link"):
        actor_url_from_jrd({"subject": "acct:a@b", "links": [{"rel": "self", "type": "text/html", "href": "x"}]})
    ld = {"links": [{"rel": "self", "href": "https://b.example/a",
                     "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}]}
    assert actor_url_from_jrd(ld) == "https://b.example/a"
    with pytest.raises(WebFingerError):
        actor_url_from_jrd({"links": [{"rel": "self", "type": "application/activity+json",
                                       "href": "javascript:alert(1)"}]})


@pytest.fixture
async def discovery_server(keys):
    """A small node: WebFinger, actors, a GoToSocial-style key document, NodeInfo."""
    hits: list[str] = []
    app = web.Application()

    def base(request):
        return f"http://{request.host}"

    async def webfinger(request):
        hits.append(request.path_qs)
        resource = request.query.get("resource", "")
        if resource != f"acct:alice@{request.host}":
            return web.json_response({"error": "unknown"}, status=404)
        jrd = webfinger_document(resource, base(request) + "/users/alice", base(request) + "/@alice")
        return web.json_response(jrd, content_type="application/jrd+json")

    async def alice(request):
        hits.append(request.path_qs)
        return web.json_response(actor_doc(keys, base=base(request)), content_type="application/activity+json")

    async def key_document(request):
        hits.append(request.path_qs)
        actor_id = base(request) + "/users/alice"
        return web.json_response({"id": actor_id + "/main-key", "owner": actor_id,
                                  "publicKeyPem": keys.rsa_public_pem}, content_type="application/activity+json")

    async def impostor(request):
        doc = actor_doc(keys, base="https://city.example")
        return web.json_response(doc, content_type="application/activity+json")

    async def well_known_nodeinfo(request):
        return web.json_response(nodeinfo_links(base(request)))

    app.router.add_get("/.well-known/webfinger", webfinger)
    app.router.add_get("/users/alice", alice)
    app.router.add_get("/users/alice/main-key", key_document)
    app.router.add_get("/users/impostor", impostor)
    app.router.add_get("/.well-known/nodeinfo", well_known_nodeinfo)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    server.hits = hits
    yield server
    await server.close()


async def test_webfinger_resolution_end_to_end(discovery_server):
    host = f"127.0.0.1:{discovery_server.port}"
    async with SafeFetcher(allow_private=True, timeout=5) as fetcher:
        actor_url = await resolve_webfinger(fetcher, f"@alice@{host}")
        assert actor_url == f"http://{host}/users/alice"
        actor = await fetch_actor(fetcher, actor_url)
    assert actor.preferred_username == "alice" and actor.inbox == actor_url + "/inbox"
    assert discovery_server.hits[0] == f"/.well-known/webfinger?resource=acct:alice@{host}"


async def test_webfinger_of_an_unknown_account_is_an_error(discovery_server):
    async with SafeFetcher(allow_private=True, timeout=5) as fetcher:
        with pytest.raises(FetchError) as caught:
            await resolve_webfinger(fetcher, f"acct:nobody@127.0.0.1:{discovery_server.port}")
    assert caught.value.status == 404


async def test_webfinger_refuses_private_hosts_without_lan_mode(discovery_server):
    async with SafeFetcher(timeout=5) as fetcher:
        with pytest.raises(FetchError) as caught:
            await resolve_webfinger(fetcher, f"alice@127.0.0.1:{discovery_server.port}")
    assert caught.value.code == "blocked_address"
    assert discovery_server.hits == []


async def test_fetch_actor_by_key_id_uses_and_refreshes_the_cache(discovery_server):
    actor_url = str(discovery_server.make_url("/users/alice"))
    cache = ActorCache()
    async with SafeFetcher(allow_private=True, timeout=5) as fetcher:
        actor = await fetch_actor(fetcher, actor_url + "#main-key", cache=cache)
        assert actor.id == actor_url and cache.get(actor_url) is actor
        assert await fetch_actor(fetcher, actor_url + "#main-key", cache=cache) is actor
        assert discovery_server.hits == ["/users/alice"]
        refreshed = await fetch_actor(fetcher, actor_url, cache=cache, refresh=True)
        assert refreshed == actor and discovery_server.hits == ["/users/alice"] * 2


async def test_fetch_actor_follows_a_separate_key_document_to_its_owner(discovery_server):
    actor_url = str(discovery_server.make_url("/users/alice"))
    async with SafeFetcher(allow_private=True, timeout=5) as fetcher:
        actor = await fetch_actor(fetcher, actor_url + "/main-key")
    assert actor.id == actor_url
    assert discovery_server.hits == ["/users/alice/main-key", "/users/alice"]


async def test_fetch_actor_refuses_a_document_claiming_another_origin(discovery_server):
    async with SafeFetcher(allow_private=True, timeout=5) as fetcher:
        with pytest.raises(ActorError) as caught:
            await fetch_actor(fetcher, str(discovery_server.make_url("/users/impostor")))
    assert caught.value.code == "origin_mismatch"


# --- NodeInfo ----------------------------------------------------------------------------------


def test_nodeinfo_document_matches_the_2_1_schema():
    doc = nodeinfo_document("civicnode", "0.1.0", users_total=10, users_active_month=4,
                            users_active_halfyear=7, local_posts=25, open_registrations=True,
                            metadata={"nodeName": "Testville"}, local_comments=3,
                            repository="https://example.org/civicnode")
    # Required keys and types of http://nodeinfo.diaspora.software/ns/schema/2.1
    assert set(doc) == {"version", "software", "protocols", "services", "openRegistrations", "usage", "metadata"}
    assert doc["version"] == "2.1"
    assert doc["software"] == {"name": "civicnode", "version": "0.1.0",
                               "repository": "https://example.org/civicnode"}
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["openRegistrations"] is True
    assert doc["usage"] == {"users": {"total": 10, "activeMonth": 4, "activeHalfyear": 7},
                            "localPosts": 25, "localComments": 3}
    assert doc["metadata"] == {"nodeName": "Testville"}
    assert validate_nodeinfo(doc) == []


@pytest.mark.parametrize("changes, problem", [
    ({"software_name": "CivicNode"}, "software.name must match"),
    ({"protocols": ["activitypub", "smtp"]}, "protocols must be"),
    ({"protocols": []}, "protocols must be"),
    ({"users_total": -1}, "usage.users.total must be a non-negative integer"),
    ({"local_posts": 2.5}, "usage.localPosts must be a non-negative integer"),
])
def test_nodeinfo_document_refuses_what_the_schema_refuses(changes, problem):
    args = dict(software_name="civicnode", version="1", users_total=1, users_active_month=1,
                users_active_halfyear=1, local_posts=0, open_registrations=False)
    args.update(changes)
    with pytest.raises(ValueError, match=problem):
        nodeinfo_document(args.pop("software_name"), args.pop("version"), **args)


def test_validate_nodeinfo_reports_missing_and_extra_keys():
    problems = validate_nodeinfo({"version": "2.0", "software": {"name": "x", "version": "1"}, "extra": 1})
    assert "missing protocols" in problems and "missing usage" in problems
    assert "unexpected key extra" in problems and "version must be '2.1'" in problems


async def test_nodeinfo_discovery(discovery_server):
    async with SafeFetcher(allow_private=True, timeout=5) as fetcher:
        links = await fetcher.get_json(str(discovery_server.make_url("/.well-known/nodeinfo")))
    assert links["links"][0]["rel"] == NODEINFO_21_REL
    assert nodeinfo_url_from_links(links) == str(discovery_server.make_url("/nodeinfo/2.1"))
    assert nodeinfo_url_from_links({"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                                               "href": "https://a.example/ni/2.0"}]}) == "https://a.example/ni/2.0"
    assert nodeinfo_url_from_links({"links": "nope"}) is None
