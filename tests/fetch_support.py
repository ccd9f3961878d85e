"""Servers, resolver and fixtures shared by the fetcher tests (see test_federation_fetch.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer

from federation.fetch import (
    SafeFetcher,
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
