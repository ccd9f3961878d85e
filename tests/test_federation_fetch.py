"""The SSRF-safe fetcher (federation/fetch.py) against real aiohttp servers on loopback.

Uses no node/ fixture: federation/ is a standalone protocol library.

Testing the address checks needs a "public" host, and none is reachable here.  So tests inject
a resolver (``StaticResolver``) that maps fake names such as ``public.test`` to loopback
addresses, and declare 127.0.0.2 an allowed network (``allow_networks``, the option meant for a
LAN partner).  A server on 127.0.0.2 then plays the public host, one on 127.0.0.1 the private
target.  Because the address check sits in the resolver and the socket factory used by the
connection itself, a name that "rebinds" to 127.0.0.1 is caught where the connection is made.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer
from yarl import URL

from federation.fetch import (
    AddressPolicy,
    BlockedAddressError,
    FetchError,
    SafeFetcher,
    Signer,
)
from federation.keys import NodeKeys
from federation.signatures import SignatureError, verify_request

KEY_ID = "https://signer.example/actor#main-key"


class StaticResolver(AbstractResolver):
    """DNS replaced by a table: name -> addresses."""

    def __init__(self, table: dict[str, list[str]]):
        self.table, self.calls = table, []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.calls.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return [{"hostname": host, "host": a, "port": port, "proto": 0, "flags": socket.AI_NUMERICHOST,
                 "family": socket.AF_INET6 if ":" in a else socket.AF_INET} for a in self.table[host]]

    async def close(self):
        pass


@pytest.fixture(scope="module")
def keys():
    return NodeKeys.generate()


def make_app(keys: NodeKeys, hits: list[str]) -> web.Application:
    async def actor(request):
        return web.json_response({"id": str(request.url), "type": "Person"},
                                 content_type="application/activity+json")

    async def big(request):
        return web.Response(body=b"[" + b"0," * (1024 * 1024) + b"0]", content_type="application/json")

    async def big_stream(request):  # no Content-Length: the limit must hold while streaming
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(40):
            await response.write(b" " * 64 * 1024)
        return response

    async def slow(request):
        await asyncio.Event().wait()  # never answers: the client's time limit must end it
        return web.json_response({})

    async def redirect(request):
        raise web.HTTPFound(request.query["to"])

    async def loop(request):
        raise web.HTTPFound("/loop")

    def resolver(key_id):
        return keys.rsa_public_pem if key_id == KEY_ID else None

    async def signed(request):
        body = await request.read() if request.method == "POST" else None
        try:
            verified = verify_request(request.method, request.path_qs, request.headers, body, resolver,
                                      scheme="http")
        except SignatureError as exc:
            return web.json_response({"error": str(exc)}, status=401)
        return web.json_response({"key_id": verified.key_id, "covered": list(verified.covered),
                                  "body": body.decode() if body else None}, status=202 if body else 200)

    async def status(request):
        return web.json_response({}, status=int(request.match_info["code"]))

    async def fixed(request):
        kind = request.match_info["kind"]
        bodies = {
            "html": web.Response(text="<html>hello</html>", content_type="text/html"),
            "bad-json": web.Response(text="{not json", content_type="application/json"),
            "array": web.json_response([1, 2, 3]),
            "deep": web.Response(text="[" * 100 + "]" * 100, content_type="application/json"),
            "deeper": web.Response(text='{"a":' * 100 + "1" + "}" * 100, content_type="application/json"),
            "long-answer": web.Response(text="x" * 100_000, status=202),
        }
        return bodies[kind]

    @web.middleware
    async def count(request, handler):
        hits.append(request.path_qs)
        return await handler(request)

    app = web.Application(middlewares=[count])
    app.router.add_get("/actor", actor)
    app.router.add_get("/big", big)
    app.router.add_get("/big-stream", big_stream)
    app.router.add_get("/slow", slow)
    app.router.add_get("/redirect", redirect)
    app.router.add_post("/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_route("*", "/signed", signed)
    app.router.add_get("/status/{code}", status)
    app.router.add_route("*", "/fixed/{kind}", fixed)
    return app


@pytest.fixture
async def private_server(keys):
    """The target an attacker wants to reach: 127.0.0.1."""
    hits: list[str] = []
    server = TestServer(make_app(keys, hits), host="127.0.0.1")
    await server.start_server()
    server.hits = hits
    yield server
    await server.close()


@pytest.fixture
async def public_server(keys):
    """Stands in for a public host: 127.0.0.2, allowed by the fetchers below."""
    hits: list[str] = []
    server = TestServer(make_app(keys, hits), host="127.0.0.2")
    await server.start_server()
    server.hits = hits
    yield server
    await server.close()


@pytest.fixture
async def lan_fetcher():
    async with SafeFetcher(allow_private=True, timeout=3) as fetcher:
        yield fetcher


@pytest.fixture
async def guarded():
    """Public-only fetcher; public.test -> 127.0.0.2 (allowed), evil.test -> 127.0.0.1."""
    resolver = StaticResolver({"public.test": ["127.0.0.2"], "evil.test": ["127.0.0.1"],
                               "mixed.test": ["127.0.0.2", "127.0.0.1"]})
    async with SafeFetcher(allow_networks=["127.0.0.2/32"], resolver=resolver, timeout=3) as fetcher:
        fetcher.test_resolver = resolver
        yield fetcher


def public_url(server: TestServer, path: str) -> str:
    return f"http://public.test:{server.port}{path}"


# --- it works where it should -------------------------------------------------------------------


async def test_fetches_from_a_local_server_when_private_addresses_are_allowed(lan_fetcher, private_server):
    url = str(private_server.make_url("/actor"))
    document = await lan_fetcher.get_document(url)
    assert document.data == {"id": url, "type": "Person"}
    assert document.url == url and document.status == 200
    assert document.content_type.startswith("application/activity+json")
    assert await lan_fetcher.get_json(url) == document.data


async def test_sends_activitypub_accept_and_user_agent(private_server):
    seen = {}

    async def echo(request):
        seen.update(request.headers)
        return web.json_response({})

    server = TestServer(web.Application(), host="127.0.0.1")
    server.app.router.add_get("/", echo)
    await server.start_server()
    try:
        async with SafeFetcher(allow_private=True, user_agent="civicnode/0.1 (+https://x.example/)") as f:
            await f.get_json(str(server.make_url("/")))
    finally:
        await server.close()
    assert seen["Accept"] == ('application/activity+json, '
                              'application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
    assert seen["User-Agent"] == "civicnode/0.1 (+https://x.example/)"


async def test_a_name_resolving_to_an_allowed_address_is_fetched(guarded, public_server):
    data = await guarded.get_json(public_url(public_server, "/actor"))
    assert data["type"] == "Person"
    assert guarded.test_resolver.calls == ["public.test"]


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("host, reason", [
    ("127.0.0.1", "loopback address"),
    ("10.0.0.5", "private address"),
    ("192.168.1.20", "private address"),
    ("172.16.0.1", "private address"),
    ("169.254.169.254", "link-local address"),
    ("100.64.0.1", "non-public address"),
    ("0.0.0.0", "unspecified address"),
    ("224.0.0.1", "multicast address"),
    ("240.0.0.1", "reserved address"),
    ("[::1]", "loopback address"),
    ("[::]", "unspecified address"),
    ("[fe80::1]", "link-local address"),
    ("[fd00::1]", "private address"),
    ("[::ffff:127.0.0.1]", "loopback address"),
    ("[::ffff:10.0.0.5]", "private address"),
    ("[2002:7f00:1::]", "loopback address"),  # 6to4 wrapping 127.0.0.1
    ("[64:ff9b::a00:5]", "private address"),  # NAT64 wrapping 10.0.0.5
])
async def test_refuses_non_public_ip_literals(guarded, host, reason):
    url = f"http://{host}/actor"
    with pytest.raises(FetchError) as caught:
        await guarded.get_json(url)
    assert caught.value.code == "blocked_address"
    assert str(caught.value) == f"refusing to fetch {url}: {reason}"
    assert not caught.value.transient


async def test_refuses_loopback_even_with_a_live_server(guarded, private_server):
    for host in ("127.0.0.1", "[::ffff:127.0.0.1]"):
        with pytest.raises(FetchError, match="loopback address"):
            await guarded.get_json(f"http://{host}:{private_server.port}/actor")
    assert private_server.hits == []


async def test_refuses_localhost_by_its_resolved_address(private_server):
    async with SafeFetcher() as fetcher:  # the system resolver
        with pytest.raises(FetchError) as caught:
            await fetcher.get_json(f"http://localhost:{private_server.port}/actor")
    assert caught.value.code == "blocked_address"
    assert "localhost resolves to" in str(caught.value) and "loopback address" in str(caught.value)
    assert private_server.hits == []


async def test_a_public_looking_name_rebound_to_loopback_is_caught_at_connect(guarded, private_server):
    with pytest.raises(FetchError) as caught:
        await guarded.get_json(f"http://evil.test:{private_server.port}/actor")
    assert str(caught.value) == (f"refusing to fetch http://evil.test:{private_server.port}/actor: "
                                 "evil.test resolves to 127.0.0.1 (loopback address)")
    assert private_server.hits == []


async def test_one_private_address_among_several_is_enough_to_refuse(guarded, public_server):
    # aiohttp tries the next address when one fails: an attacker could make the first one fail.
    with pytest.raises(FetchError, match="mixed.test resolves to 127.0.0.1"):
        await guarded.get_json(f"http://mixed.test:{public_server.port}/actor")
    assert public_server.hits == []


async def test_the_socket_factory_guards_connections_that_bypass_the_pre_check(guarded, private_server):
    # Defence in depth: even a request made around _check_url (IP literals skip the resolver)
    # cannot open a socket to a refused address.
    session = guarded._get_session()
    with pytest.raises(aiohttp.ClientConnectorError) as caught:
        await session.get(f"http://127.0.0.1:{private_server.port}/actor")
    assert isinstance(caught.value.os_error, BlockedAddressError)
    assert private_server.hits == []


def test_address_policy_allow_private_still_refuses_unspecified_and_multicast():
    import ipaddress

    policy = AddressPolicy.make(allow_private=True)
    assert policy.refusal(ipaddress.ip_address("10.1.2.3")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is None
    assert policy.refusal(ipaddress.ip_address("0.0.0.0")) == "unspecified address"
    assert policy.refusal(ipaddress.ip_address("ff02::1")) == "multicast address"
    public = AddressPolicy.make()
    assert public.refusal(ipaddress.ip_address("93.184.215.14")) is None
    assert public.refusal(ipaddress.ip_address("2606:4700::1111")) is None
    assert public.refusal(ipaddress.ip_address("::ffff:93.184.215.14")) is None
    lan = AddressPolicy.make(allow_networks=["192.168.1.0/24"])
    assert lan.refusal(ipaddress.ip_address("192.168.1.7")) is None
    assert lan.refusal(ipaddress.ip_address("::ffff:192.168.1.7")) is None
    assert lan.refusal(ipaddress.ip_address("192.168.2.7")) == "private address"


@pytest.mark.parametrize("url, reason", [
    ("ftp://public.test/actor", "only http and https URLs are fetched"),
    ("file:///etc/passwd", "only http and https URLs are fetched"),
    ("gopher://public.test/", "only http and https URLs are fetched"),
    ("javascript:alert(1)", "only http and https URLs are fetched"),
    ("http:///actor", "no host"),
    ("http://user:pw@public.test/actor", "credentials in the URL"),
])
async def test_refuses_urls_that_are_not_plain_http(guarded, url, reason):
    with pytest.raises(FetchError) as caught:
        await guarded.get_json(url)
    assert caught.value.code == "invalid_url"
    assert reason in str(caught.value)


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0177.0.0.1", "0x7f000001", "[::127.0.0.1]"])
async def test_refuses_legacy_numeric_ipv4_forms(host):
    # The C library reads these as 127.0.0.1: they are rejected as URLs (aiohttp) or caught
    # once the system resolver has turned them into an address.
    async with SafeFetcher() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get_json(f"http://{host}/actor")
    assert caught.value.code in ("invalid_url", "blocked_address")


# --- redirects ---------------------------------------------------------------------------------


async def test_follows_redirects_and_reports_the_final_url(guarded, public_server):
    url = public_url(public_server, "/redirect?to=/actor")
    document = await guarded.get_document(url)
    assert document.url == public_url(public_server, "/actor")
    assert document.data["id"].endswith("/actor")


async def test_a_redirect_to_a_private_address_is_refused(guarded, public_server, private_server):
    target = f"http://127.0.0.1:{private_server.port}/actor"
    with pytest.raises(FetchError) as caught:
        await guarded.get_json(public_url(public_server, f"/redirect?to={target}"))
    assert str(caught.value) == f"refusing to fetch {target}: loopback address"
    assert public_server.hits == [f"/redirect?to={target}"]
    assert private_server.hits == []


async def test_a_redirect_to_a_name_of_a_private_address_is_refused(guarded, public_server, private_server):
    target = f"http://evil.test:{private_server.port}/actor"
    with pytest.raises(FetchError, match="evil.test resolves to 127.0.0.1"):
        await guarded.get_json(public_url(public_server, f"/redirect?to={target}"))
    assert private_server.hits == []


async def test_a_redirect_to_another_scheme_is_refused(guarded, public_server):
    with pytest.raises(FetchError, match="only http and https"):
        await guarded.get_json(public_url(public_server, "/redirect?to=file:///etc/passwd"))


def test_https_never_downgrades_to_http():
    fetcher = SafeFetcher()
    with pytest.raises(FetchError, match="https to http") as caught:
        fetcher._redirect_target(URL("https://a.example/x"), "http://a.example/y")
    assert caught.value.code == "bad_redirect"
    assert fetcher._redirect_target(URL("http://a.example/x"), "https://b.example/y") == URL("https://b.example/y")
    assert fetcher._redirect_target(URL("https://a.example/x/"), "../y") == URL("https://a.example/y")


async def test_redirect_loops_stop(lan_fetcher, private_server):
    with pytest.raises(FetchError) as caught:
        await lan_fetcher.get_json(str(private_server.make_url("/loop")))
    assert caught.value.code == "too_many_redirects"
    assert len(private_server.hits) == lan_fetcher.max_redirects + 1


# --- size, time, content -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
async def test_oversized_responses_are_refused(lan_fetcher, private_server, path):
    with pytest.raises(FetchError) as caught:
        await lan_fetcher.get_json(str(private_server.make_url(path)))
    assert caught.value.code == "too_large"
    assert str(caught.value).endswith("larger than 1 MiB")


async def test_the_size_limit_is_configurable(private_server):
    async with SafeFetcher(allow_private=True, max_bytes=10) as fetcher:
        with pytest.raises(FetchError, match="larger than 10 bytes"):
            await fetcher.get_json(str(private_server.make_url("/actor")))


async def test_slow_servers_time_out(private_server):
    async with SafeFetcher(allow_private=True, timeout=0.3) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            await fetcher.get_json(str(private_server.make_url("/slow")))
    assert time.monotonic() - started < 2
    assert caught.value.code == "timeout" and caught.value.transient
    assert "within 0.3 s" in str(caught.value)


@pytest.mark.parametrize("kind, message", [
    ("html", "answered text/html; charset=utf-8, not JSON"),
    ("bad-json", "answered invalid JSON"),
    ("array", "JSON that is not an object"),
    ("deeper", "nested deeper than 64 levels"),
])
async def test_non_json_answers_are_refused(lan_fetcher, private_server, kind, message):
    with pytest.raises(FetchError) as caught:
        await lan_fetcher.get_json(str(private_server.make_url(f"/fixed/{kind}")))
    assert caught.value.code == "not_json"
    assert message in str(caught.value)


@pytest.mark.parametrize("code, transient", [(404, False), (410, False), (429, True), (503, True)])
async def test_error_statuses_raise_with_the_status(lan_fetcher, private_server, code, transient):
    with pytest.raises(FetchError) as caught:
        await lan_fetcher.get_json(str(private_server.make_url(f"/status/{code}")))
    assert caught.value.code == "http_status" and caught.value.status == code
    assert caught.value.transient is transient
    assert f"answered HTTP {code}" in str(caught.value)


async def test_connection_refused_is_a_transient_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    async with SafeFetcher(allow_private=True, timeout=3) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get_json(f"http://127.0.0.1:{port}/actor")
    assert caught.value.code == "connection" and caught.value.transient


# --- signing -----------------------------------------------------------------------------------


async def test_signed_get_verifies_on_the_server(lan_fetcher, private_server, keys):
    signer = Signer(KEY_ID, keys.rsa_private_pem)
    assert keys.rsa_private_pem not in repr(signer)
    data = await lan_fetcher.get_json(str(private_server.make_url("/signed?page=2")), signer)
    assert data["key_id"] == KEY_ID
    assert data["covered"] == ["(request-target)", "host", "date"]


async def test_unsigned_get_is_refused_by_a_verifying_server(lan_fetcher, private_server):
    with pytest.raises(FetchError) as caught:
        await lan_fetcher.get_json(str(private_server.make_url("/signed")))
    assert caught.value.status == 401


async def test_signed_get_is_signed_again_after_a_redirect(lan_fetcher, private_server, keys):
    signer = Signer(KEY_ID, keys.rsa_private_pem)
    data = await lan_fetcher.get_json(str(private_server.make_url("/redirect?to=/signed%3Fq%3D1")), signer)
    assert data["key_id"] == KEY_ID
    assert private_server.hits[1:] == ["/signed?q=1"]


async def test_signed_post_delivers_a_verifiable_activity(lan_fetcher, private_server, keys):
    activity = {"id": "https://signer.example/activities/1", "type": "Follow"}
    response = await lan_fetcher.post(str(private_server.make_url("/signed")), activity,
                                      signer=Signer(KEY_ID, keys.rsa_private_pem))
    assert response.status == 202
    answer = json.loads(response.text)
    assert answer["covered"] == ["(request-target)", "host", "date", "digest"]
    assert json.loads(answer["body"]) == activity
    assert response.headers["content-type"].startswith("application/json")


async def test_post_does_not_follow_redirects(lan_fetcher, private_server):
    response = await lan_fetcher.post(str(private_server.make_url("/redirect?to=/signed")), b"{}")
    assert response.status == 302
    assert private_server.hits == ["/redirect?to=/signed"]


async def test_post_keeps_only_the_start_of_a_long_answer(lan_fetcher, private_server):
    response = await lan_fetcher.post(str(private_server.make_url("/fixed/long-answer")), b"{}")
    assert response.status == 202 and response.text == "x" * 16 * 1024


async def test_post_to_a_private_address_is_refused(guarded, private_server):
    with pytest.raises(FetchError, match="loopback address"):
        await guarded.post(f"http://evil.test:{private_server.port}/signed", b"{}")
    assert private_server.hits == []


async def test_close_is_idempotent_and_a_closed_fetcher_can_be_used_again(private_server):
    fetcher = SafeFetcher(allow_private=True)
    await fetcher.close()
    url = f"http://localhost:{private_server.port}/actor"  # a name: goes through the resolver
    assert (await fetcher.get_json(url))["type"] == "Person"
    await fetcher.close()
    await fetcher.close()
    assert (await fetcher.get_json(url))["type"] == "Person"
    await fetcher.close()
