"""Discovery: vocabulary helpers, WebFinger, NodeInfo, and fetching actors through them."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.actors import (
    ActorCache,
    ActorError,
    build_actor,
    fetch_actor,
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
    CIVICNODE_NS,
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
