"""The SSRF-safe fetcher's limits (size, time, content, status) and signing, against real
aiohttp servers on loopback. Shared servers and fixtures: tests/fetch_support.py."""


import json
import socket
import time

import pytest

from federation.fetch import (
    FetchError,
    SafeFetcher,
    Signer,
)
from tests.fetch_support import (  # noqa: F401  (fixtures are used by name)
    KEY_ID,
    guarded,
    keys,
    lan_fetcher,
    private_server,
    public_server,
)

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
