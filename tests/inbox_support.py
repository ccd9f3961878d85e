"""Shared pieces of the inbox tests (no tests here): a "remote server" publishing actors with real
keys on 127.0.0.1, a node to receive, and a client that signs its POSTs like a fediverse server.
"""
from __future__ import annotations

import contextlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from federation.actors import build_actor
from federation.keys import NodeKeys
from federation.proofs import create_proof
from federation.signatures import sign_request
from node.activitypub.inbox import POLICIES, register_inbox_handler
from node.activitypub.models import InboxActivity
from tests.nodes import RunningNode, start_node

_KEYS: list[NodeKeys] = []


def keys(n: int) -> NodeKeys:
    """Pre-made key pairs (RSA generation costs ~0.1 s each), shared by the test session."""
    while len(_KEYS) <= n:
        _KEYS.append(NodeKeys.generate())
    return _KEYS[n]


@dataclass
class Remote:
    """A minimal fediverse server: actors at /users/<name>, with keys that can rotate."""

    server: TestServer = None
    actors: dict[str, NodeKeys] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def host(self) -> str:
        return self.base.split("://", 1)[1]

    def actor_id(self, name: str) -> str:
        return f"{self.base}/users/{name}"

    def key_id(self, name: str) -> str:
        return self.actor_id(name) + "#main-key"

    def document(self, name: str) -> dict:
        actor_id, k = self.actor_id(name), self.actors[name]
        return build_actor("Person", id=actor_id, preferred_username=name, name=name.title(), summary=None,
                           inbox=actor_id + "/inbox", outbox=actor_id + "/outbox",
                           followers=actor_id + "/followers", shared_inbox=self.base + "/inbox",
                           url=actor_id, rsa_public_pem=k.rsa_public_pem,
                           ed25519_multibase=k.ed25519_public_multibase)

    def activity(self, name: str, kind: str = "Create", obj=None, **extra) -> dict:
        actor_id = self.actor_id(name)
        if obj is None:
            obj = {"id": f"{self.base}/notes/{uuid.uuid4()}", "type": "Note", "attributedTo": actor_id,
                   "content": "Hello", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{self.base}/activities/{uuid.uuid4()}",
                "type": kind, "actor": actor_id, "object": obj, **extra}

    def prove(self, name: str, document: dict) -> dict:
        return create_proof(document, self.actors[name].ed25519_seed_hex, self.actor_id(name) + "#ed25519-key")

    def rotate(self, name: str, new_keys: NodeKeys) -> None:
        self.actors[name] = new_keys  # same key id, new key: what Mastodon's rotation looks like


@contextlib.asynccontextmanager
async def remote_server(**actors: NodeKeys):
    remote = Remote(actors=dict(actors))

    async def actor(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        remote.hits[name] += 1
        if name not in remote.actors:
            raise web.HTTPNotFound()
        return web.json_response(remote.document(name), content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    remote.server = TestServer(app, host="127.0.0.1", port=0)
    await remote.server.start_server()
    try:
        yield remote
    finally:
        await remote.server.close()


@contextlib.asynccontextmanager
async def inbox_node(tmp_path, database_url: str, name: str = "city", **config):
    """A real node; ``node.calls`` records what the test Create/Announce handlers received."""
    node: RunningNode = await start_node(tmp_path / name, name, database_url, **config)
    node.calls = []

    async def record(ctx, activity, actor):
        node.calls.append((ctx.recipient, activity, actor.id))

    register_inbox_handler(node.app, "Create", record)
    register_inbox_handler(node.app, "Announce", record)
    try:
        yield node
    finally:
        await node.client.session.close()
        await node.server.close()


async def post(node, path: str, body, key_id: str | None, private_pem: str | None, *, now=None,
               send_body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    """POST ``body`` (dict or bytes) to the node, signed unless key_id is None."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = node.base_url + path
    sent = {"Content-Type": "application/activity+json", **(headers or {})}
    if key_id is not None:
        sent = sign_request("POST", url, sent, raw, key_id, private_pem, now=now)
    async with ClientSession() as session:
        async with session.post(url, data=send_body if send_body is not None else raw, headers=sent) as response:
            try:
                payload = await response.json(content_type=None)
            except ValueError:
                payload = {"text": await response.text()}
            return response.status, payload


async def post_as(node, remote: Remote, name: str, activity, path: str = "/inbox", **kwargs):
    return await post(node, path, activity, remote.key_id(name), remote.actors[name].rsa_private_pem, **kwargs)


async def stored(node) -> list[InboxActivity]:
    async with node.db() as db:
        return list(await db.scalars(select(InboxActivity).order_by(InboxActivity.id)))


async def count(node) -> int:
    async with node.db() as db:
        return await db.scalar(select(func.count()).select_from(InboxActivity))


async def set_policy(node, host: str, policy: str) -> None:
    await node.app[POLICIES].set(host, policy, "test")


def assert_refused(status: int, payload: dict, expected_status: int, code: str) -> None:
    assert (status, payload.get("code")) == (expected_status, code), payload
    assert payload.get("reason"), "a refusal must say why"

