"""Several real nodes in one test: separate apps, separate databases, real HTTP on 127.0.0.1.

    async with running_nodes(tmp_path, ["city", "town"]) as nodes:
        city, town = nodes["city"], nodes["town"]
        await city.client.get(...)   # a browser-like client of that node (tests.helpers.WebClient)

Each node is configured for LAN/test federation (private addresses allowed) since every node
lives on 127.0.0.1. The database URL of each node comes from `database_url_for(name)`, so a
test can run the federation on SQLite or PostgreSQL. `signed_get(node, url)` reads what another
node serves only to signed fetches, as `node` itself fetches it.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer

from federation.fetch import FetchError
from node.activitypub.inbox import remote_actors
from node.app import create_app
from node.appkeys import DB, SETTINGS
from node.config import Settings, load_settings, write_initial_config
from node.db import make_engine
from node.db.migrate import upgrade
from tests.helpers import WebClient


@dataclass
class RunningNode:
    name: str
    app: web.Application
    server: TestServer
    client: WebClient

    @property
    def settings(self) -> Settings:
        return self.app[SETTINGS]

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]

    def db(self):
        """`async with node.db() as session:` (or `node.db.begin()` semantics via app[DB])."""
        return self.app[DB]()


async def start_node(data_dir: Path, name: str, database_url: str, **config) -> RunningNode:
    data_dir.mkdir(parents=True)
    write_initial_config(data_dir, node_name=name.capitalize())
    environ = {"CIVICNODE_DATABASE_URL": database_url, "CIVICNODE_ALLOW_PRIVATE_ADDRESSES": "true"}
    environ.update({f"CIVICNODE_{key.upper()}": str(value) for key, value in config.items()})
    settings = load_settings(data_dir, environ=environ)
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    settings.base_url = str(server.make_url("")).rstrip("/")
    session = ClientSession(cookie_jar=CookieJar(unsafe=True))
    return RunningNode(name, app, server, WebClient(session, settings.base_url))


@contextlib.asynccontextmanager
async def running_nodes(tmp_path: Path, names: list[str],
                        database_url_for: Callable[[str], str] | None = None):
    database_url_for = database_url_for or (lambda name: f"sqlite+aiosqlite:///{tmp_path / name / 'civicnode.db'}")
    nodes: dict[str, RunningNode] = {}
    try:
        for name in names:
            nodes[name] = await start_node(tmp_path / name, name, database_url_for(name))
        yield nodes
    finally:
        for node in nodes.values():
            await node.client.session.close()
            await node.server.close()


async def signed_get(node, url: str) -> dict:
    """GET ``url`` as ``node`` fetches (signed with its node actor's key)."""
    actors = remote_actors(node.app)
    return (await actors.fetcher.get_document(url, await actors._get_signer())).data


async def status_of(node, url: str) -> int:
    try:
        await signed_get(node, url)
    except FetchError as exc:
        return exc.status
    return 200
