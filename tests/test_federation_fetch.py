"""The SSRF-safe fetcher (federation/fetch.py) against real aiohttp servers on loopback.

Uses no node/ fixture: federation/ is a standalone protocol library.

Testing the address checks needs a "public" host, and none is reachable here.  So tests inject
a resolver (``StaticResolver``) that maps fake names such as ``public.test`` to loopback
addresses, and declare 127.0.0.2 an allowed network (``allow_networks``, the option meant for a
LAN partner).  A server on 127.0.0.2 then plays the public host, one on 127.0.0.1 the private
target.  Because the address check sits in the resolver and the socket factory used by the
connection itself, a name that "rebinds" to 127.0.0.1 is caught where the connection is made.
"""



import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from federation.fetch import (
    AddressPolicy,
    BlockedAddressError,
    FetchError,
    SafeFetcher,
)
from tests.fetch_support import (  # noqa: F401  (fixtures are used by name)
    guarded,
    keys,
    lan_fetcher,
    private_server,
    public_server,
    public_url,
)

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
