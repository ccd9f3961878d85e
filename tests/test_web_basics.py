"""The web layer every page relies on: errors, security headers, CSRF, languages, static files."""
from __future__ import annotations

import pytest


async def test_home_and_health(web):
    page = await web.get("/")
    assert page.status == 200
    assert "Testville" in page.text
    health = await web.get("/healthz")
    assert health.status == 200 and '"ok"' in health.text


async def test_security_headers_on_pages_errors_and_static(web):
    for path in ("/", "/no-such-page", "/static/css/civicnode.css"):
        page = await web.get(path)
        csp = page.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert page.headers.get("Referrer-Policy") == "same-origin", path
        assert page.headers.get("X-Content-Type-Options") == "nosniff", path


async def test_unknown_page_is_a_friendly_404(web):
    page = await web.get("/no-such-page")
    assert page.status == 404
    assert "Page not found" in page.text and "Back to the home page" in page.text
    api = await web.get("/no-such-page", headers={"Accept": "application/json"})
    assert api.status == 404 and api.headers["Content-Type"].startswith("application/json")


async def test_static_files_cannot_escape_the_theme(web):
    assert (await web.get("/static/css/civicnode.css")).status == 200
    assert (await web.get("/static/%2e%2e/%2e%2e/node/config.py")).status == 404
    assert (await web.get("/static/../../pyproject.toml")).status == 404


async def test_form_without_csrf_token_is_refused(web):
    await web.get("/")  # gets the CSRF cookie, like a browser that loaded the page
    page = await web.post("/locale", {"locale": "fr"}, csrf=False, allow_redirects=False)
    assert page.status == 403
    assert "security token" in page.text
    forged = await web.post("/locale", {"locale": "fr"}, csrf="0" * 64, allow_redirects=False)
    assert forged.status == 403


async def test_form_from_another_site_is_refused(web):
    page = await web.post("/locale", {"locale": "fr"}, headers={"Origin": "https://evil.example"},
                          allow_redirects=False)
    assert page.status == 403
    assert "another site" in page.text


async def test_form_without_the_csrf_cookie_is_refused_with_advice(server):
    from aiohttp import ClientSession

    async with ClientSession() as fresh:
        async with fresh.post(server.make_url("/locale"), data={"locale": "fr", "_csrf": "x"}) as response:
            assert response.status == 403
            assert "cookie" in await response.text()


@pytest.mark.parametrize("header, expected", [
    ("fr-FR,fr;q=0.9,en;q=0.5", "fr"),
    ("de-DE, es;q=0.8", "es"),
    ("ca", "ca"),
    ("de", "en"),
])
async def test_language_from_accept_language_then_default(web, header, expected):
    page = await web.get("/", headers={"Accept-Language": header})
    assert f'<html lang="{expected}">' in page.text
    assert page.headers["Content-Language"] == expected


async def test_language_switch_is_remembered_and_beats_the_browser(web):
    page = await web.post("/locale", {"locale": "ca", "next": "/"}, allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/"
    home = await web.get("/", headers={"Accept-Language": "fr"})
    assert '<html lang="ca">' in home.text


async def test_language_switch_refuses_unknown_language_and_open_redirect(web):
    bad = await web.post("/locale", {"locale": "xx"}, allow_redirects=False)
    assert bad.status == 400
    away = await web.post("/locale", {"locale": "es", "next": "//evil.example/"}, allow_redirects=False)
    assert away.status == 303 and away.headers["Location"] == "/"


async def test_oversized_body_is_refused_with_413(web, app):
    from node.appkeys import SETTINGS

    limit = app[SETTINGS].max_body_bytes
    page = await web.post("/locale", {"locale": "fr", "next": "x" * (limit + 10)}, allow_redirects=False)
    assert page.status == 413
