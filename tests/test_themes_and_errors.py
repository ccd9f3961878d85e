"""Theme override chain and the friendly error pages for crashes."""
from __future__ import annotations

import logging

import pytest
import pytest_asyncio
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from node.app import create_app
from node.config import replace


@pytest.fixture
def themed_settings(migrated, tmp_path):
    """A theme 'civic-red' that overrides one template and one static file, nothing else."""
    themes = tmp_path / "themes"
    (themes / "civic-red" / "templates").mkdir(parents=True)
    (themes / "civic-red" / "static" / "css").mkdir(parents=True)
    default = migrated.resolved_themes_dir() / "default"
    (themes / "default").symlink_to(default, target_is_directory=True)
    (themes / "civic-red" / "templates" / "error.html").write_text(
        '{% extends "base.html" %}{% block content %}<p id="themed">Themed {{ status }}</p>{% endblock %}')
    (themes / "civic-red" / "static" / "css" / "civicnode.css").write_text("body { color: red; }")
    return replace(migrated, theme="civic-red", themes_dir=str(themes))


@pytest_asyncio.fixture
async def themed_client(themed_settings):
    server = TestServer(create_app(themed_settings), host="127.0.0.1", port=0)
    await server.start_server()
    async with ClientSession() as client:
        yield client, server
    await server.close()


async def test_theme_overrides_a_template_and_a_static_file_and_inherits_the_rest(themed_client):
    client, server = themed_client
    async with client.get(server.make_url("/missing")) as response:
        assert response.status == 404
        assert '<p id="themed">Themed 404</p>' in await response.text()
    async with client.get(server.make_url("/")) as response:
        assert "Participatory spaces" in await response.text()  # home.html from default
    async with client.get(server.make_url("/static/css/civicnode.css")) as response:
        assert await response.text() == "body { color: red; }"


async def test_a_crash_gives_a_friendly_500_and_is_logged(app, caplog):
    async def broken(request):
        raise ZeroDivisionError("bug")

    app.router.add_get("/broken", broken)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        with caplog.at_level(logging.ERROR, logger="civicnode.web"):
            async with ClientSession() as client:
                async with client.get(server.make_url("/broken")) as response:
                    text = await response.text()
                    assert response.status == 500
                    assert "Something went wrong on our side" in text
                    assert "ZeroDivisionError" not in text  # no traceback shown to visitors
        assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)
    finally:
        await server.close()


async def test_healthz_reports_a_dead_database(app):
    from node.appkeys import DB
    from node.db import make_engine

    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        # Point the running node at a database that cannot be opened.
        dead = make_engine("sqlite+aiosqlite:////nonexistent-dir/x.db")
        app[DB].configure(bind=dead)
        async with ClientSession() as client:
            async with client.get(server.make_url("/healthz")) as response:
                assert response.status == 503
                assert (await response.json())["status"] == "error"
        await dead.dispose()
    finally:
        await server.close()
