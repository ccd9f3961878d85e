"""Shared fixtures: every database test runs on SQLite and on a throwaway PostgreSQL cluster.

PostgreSQL comes from tests/pgcluster.py (initdb in a temporary directory, loopback port chosen
by the OS). When its binaries are missing the PostgreSQL half of the suite fails with a message
saying how to install them (scripts/test-setup does it); it is never silently skipped.
"""
from __future__ import annotations

import faulthandler
import itertools
import os
import sys

import pytest
import pytest_asyncio
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from node.app import create_app
from node.appkeys import DB, SETTINGS
from node.config import load_settings, write_initial_config
from node.db import make_engine
from node.db.migrate import upgrade
from tests.helpers import WebClient

BACKENDS = os.environ.get("CIVICNODE_TEST_BACKENDS", "sqlite,postgresql").split(",")
_database_numbers = itertools.count(1)


def pytest_unconfigure(config):
    # After the summary only interpreter shutdown remains; a thread that never ends would keep the
    # process (and CI) waiting silently, so after two minutes print every stack and exit non-zero.
    faulthandler.dump_traceback_later(120, exit=True, file=sys.stderr)


@pytest.fixture(scope="session")
def pg_cluster():
    from tests.pgcluster import throwaway_cluster

    try:
        manager = throwaway_cluster()
        cluster = manager.__enter__()
    except RuntimeError as exc:
        pytest.fail(f"PostgreSQL is needed for the PostgreSQL half of the suite: {exc}")
    yield cluster
    manager.__exit__(None, None, None)


@pytest.fixture(params=BACKENDS)
def database_url_for(request, tmp_path):
    """For tests that run several nodes (tests.nodes.running_nodes): a node's name -> a database
    of its own, on each backend."""
    if request.param == "sqlite":
        yield lambda name: f"sqlite+aiosqlite:///{tmp_path / name / 'civicnode.db'}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    created: list[str] = []

    def new_database(name: str) -> str:
        database = f"nodes_{name}_{next(_database_numbers)}"
        created.append(database)
        return cluster.new_database(database)

    yield new_database
    for database in created:  # the nodes are stopped by now
        cluster.drop_database(database)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'civicnode.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    name = f"test_{next(_database_numbers)}"
    url = cluster.new_database(name)
    # Dropped at once: a thousand leftover databases cost gigabytes and a long final clean-up.
    request.addfinalizer(lambda: cluster.drop_database(name))
    return url


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    write_initial_config(path, node_name="Testville")
    return path


@pytest.fixture
def settings(data_dir, database_url):
    return load_settings(data_dir, environ={"CIVICNODE_DATABASE_URL": database_url})


@pytest_asyncio.fixture
async def migrated(settings):
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return settings


@pytest_asyncio.fixture
async def app(migrated):
    return create_app(migrated)


@pytest_asyncio.fixture
async def server(app):
    """The node served over real HTTP on 127.0.0.1, on a port the OS picks."""
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    settings = app[SETTINGS]
    if not settings.base_url:
        settings.base_url = str(test_server.make_url("")).rstrip("/")
    yield test_server
    await test_server.close()


@pytest_asyncio.fixture
async def web(server):
    """A browser-like HTTP client (own cookie jar) talking to `server`."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
        yield WebClient(session, str(server.make_url("")).rstrip("/"))


@pytest_asyncio.fixture
async def db(app, server):
    """A database session on the served node's database (after start-up ran)."""
    async with app[DB]() as session:
        yield session
