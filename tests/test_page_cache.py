"""The anonymous page cache (node.web.cache), over real HTTP on both backends: what is cached is
always up to date with this process's writes, personal pages are never cached or shared, each
visitor's forms keep working, languages stay apart, and the cache is bounded and can be off."""
from __future__ import annotations

import re
from contextlib import asynccontextmanager

import pytest
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer
from yarl import URL
from sqlalchemy import update

from node.app import create_app
from node.appkeys import DB, SETTINGS
from node.components.proposals.models import Proposal
from node.config import replace
from node.db import make_engine
from node.web.cache import PAGE_CACHE, PageCache
from node.web.csrf import COOKIE as CSRF_COOKIE
from node.web.csrf import token_for
from tests.helpers import WebClient, csrf_from
from tests.proposals_fixtures import list_path, make_proposal, proposal_path, set_settings, space_with_component
from tests.spaces_support import PASSWORD, log_in, make_user


@asynccontextmanager
async def visitor(server, **headers):
    """Another browser, with its own cookie jar (anonymous until it logs in)."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True), headers=headers) as session:
        yield WebClient(session, str(server.make_url("")).rstrip("/"))


@asynccontextmanager
async def node_with(migrated, **overrides):
    """Another node process on the same database, with other settings."""
    app = create_app(replace(migrated, **overrides))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield app, server
    finally:
        await server.close()


def cached(app) -> PageCache:
    return app[PAGE_CACHE]


def tokens(html: str) -> set[str]:
    return set(re.findall(r'name="_csrf" value="([^"]+)"', html))


async def test_a_cached_list_and_proposal_show_new_proposals_supports_and_comments_at_once(web, app, server):
    space, component, _ = await space_with_component(app, support_threshold=10)
    author = await make_user(app, "amelie")
    first = await make_proposal(app, space, component, author, title="Plant trees on the market square")
    async with visitor(server) as anonymous:
        listing = list_path(space, component)
        assert "Plant trees on the market square" in (await anonymous.get(listing)).text
        hits = cached(app).hits
        assert (await anonymous.get(listing)).status == 200 and cached(app).hits == hits + 1

        await log_in(web, app, "jordi")
        new = f"/spaces/{space.slug}/c/{component.id}/proposals/new"
        posted = await web.post(new, {"title": "A covered bicycle park at the station",
                                      "body": "Two hundred places, lit at night, next to the platforms."},
                                csrf_from_path=new)
        assert posted.status == 200 and "Your proposal is published." in posted.text
        assert "A covered bicycle park at the station" in (await anonymous.get(listing)).text

        page = proposal_path(space, first.id)
        assert "0 supports" in (await anonymous.get(page)).text
        supported = await web.post(page + "/support", {}, csrf_from_path=page)
        assert "your support is recorded" in supported.text
        shown = (await anonymous.get(page)).text
        assert "1 support" in shown and "1 of the 10 needed" in shown
        assert re.search(r'id="support-count-%d">1 support' % first.id, (await anonymous.get(listing)).text)

        commented = await web.post("/comments", {"commentable_type": "proposal", "commentable_id": str(first.id),
                                                 "body": "Lime trees give the best shade."}, csrf_from_path=page)
        assert commented.status == 200
        assert "Lime trees give the best shade." in (await anonymous.get(page)).text
        assert "1 comment" in (await anonymous.get(listing)).text


async def test_admin_changes_show_at_once(web, app, server):
    space, component, _ = await space_with_component(app)
    listing = list_path(space, component)
    async with visitor(server) as anonymous:
        assert "Supports are open." in (await anonymous.get(listing)).text
        await set_settings(app, component, supports_blocked=True)  # a service's write, no HTTP
        assert "Supports are blocked at the moment." in (await anonymous.get(listing)).text
        assert "Testville" in (await anonymous.get("/")).text
        await log_in(web, app, "alice_admin", role="admin")
        admin_space = f"/admin/spaces/{space.id}"
        unpublished = await web.post(f"{admin_space}/components/{component.id}/unpublish", {},
                                     csrf_from_path=admin_space)
        assert unpublished.status == 200
        assert (await anonymous.get(listing)).status == 404
        saved = await web.post("/admin/settings", {"node_name": "Greenfield", "default_locale": "en",
                                                    "registration_open": "1"}, csrf_from_path="/admin/settings")
        assert saved.status == 200
        home = (await anonymous.get("/")).text
        assert "Greenfield" in home and "Testville" not in home


async def test_logged_in_visitors_never_get_or_leave_a_cached_page(web, app, server):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    page = proposal_path(space, proposal.id)
    async with visitor(server) as anonymous:
        assert "Log in" in (await anonymous.get(page)).text  # now cached for anonymous visitors
        await log_in(web, app, "jordi")
        hits = cached(app).hits
        mine = await web.get(page)
        assert "Jordi" in mine.text and "Log out" in mine.text and cached(app).hits == hits
        assert mine.headers["Cache-Control"] == "private, no-cache" and "Cookie" in mine.headers["Vary"]
        user_tokens = tokens(mine.text)
        async with visitor(server) as other:
            await make_user(app, "berta")
            assert (await other.login("berta", PASSWORD)).status == 200
            hers = await other.get(page)
            assert "Berta" in hers.text and "Jordi" not in hers.text
            assert not tokens(hers.text) & user_tokens
        again = await anonymous.get(page)
        assert "Jordi" not in again.text and "Berta" not in again.text and "Log in" in again.text
        assert not tokens(again.text) & user_tokens


async def test_two_anonymous_visitors_get_their_own_working_csrf_tokens(app, server):
    space, component, _ = await space_with_component(app)
    listing = list_path(space, component)
    secret = app[SETTINGS].secret_key
    async with visitor(server) as one, visitor(server) as two:
        first = await one.get(listing)
        hits = cached(app).hits
        second = await two.get(listing)
        assert cached(app).hits == hits + 1  # the second visitor got the cached page
        assert CSRF_COOKIE in second.headers.get("Set-Cookie", "")  # and a cookie of their own
        cookie_one = one.session.cookie_jar.filter_cookies(URL(one.base))[CSRF_COOKIE].value
        cookie_two = two.session.cookie_jar.filter_cookies(URL(two.base))[CSRF_COOKIE].value
        assert tokens(first.text) == {token_for(secret, cookie_one)}
        assert tokens(second.text) == {token_for(secret, cookie_two)}
        # The form works with the token the cached page carried, and only for its visitor.
        switched = await two.post("/locale", {"locale": "fr", "next": listing}, csrf=csrf_from(second.text))
        assert switched.status == 200 and "Propositions" in switched.text
        refused = await one.post("/locale", {"locale": "fr", "next": listing}, csrf=csrf_from(second.text))
        assert refused.status == 403 and "security token" in refused.text


async def test_languages_do_not_mix(app, server):
    space, component, _ = await space_with_component(app)
    listing = list_path(space, component)
    async with visitor(server, **{"Accept-Language": "fr-FR,fr;q=0.9"}) as french, \
            visitor(server, **{"Accept-Language": "en-GB,en;q=0.8"}) as english:
        for _ in range(2):  # the second time from the cache
            fr, en = await french.get(listing), await english.get(listing)
            assert '<html lang="fr">' in fr.text and "<h1>Propositions</h1>" in fr.text
            assert '<html lang="en">' in en.text and "<h1>Proposals</h1>" in en.text
            assert fr.headers["Content-Language"] == "fr" and en.headers["Content-Language"] == "en"
        assert en.headers["Vary"] == "Accept, Accept-Language, Cookie"
        # An explicit choice (cookie) wins over the browser's languages, cached or not.
        await english.post("/locale", {"locale": "ca", "next": "/"}, csrf=csrf_from(en.text))
        assert '<html lang="ca">' in (await english.get(listing)).text


async def test_servers_asking_for_json_never_get_the_cached_html(app, server):
    space, _, _ = await space_with_component(app)
    async with visitor(server) as anonymous:
        assert (await anonymous.get(f"/spaces/{space.slug}")).text.startswith("<!doctype html>")
        actor = await anonymous.get(f"/spaces/{space.slug}", headers={"Accept": "application/activity+json"})
        assert actor.status == 200 and actor.headers["Content-Type"].startswith("application/activity+json")


async def test_error_pages_are_not_cached(app, server):
    async with visitor(server) as anonymous:
        assert (await anonymous.get("/spaces/not-yet")).status == 404
        await space_with_component(app, slug="not-yet")
        assert (await anonymous.get("/spaces/not-yet")).status == 200


async def test_writes_of_other_processes_show_within_the_ttl_and_ttl_0_turns_it_off(app, server, migrated):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author, title="Plant trees on the market square")
    page = proposal_path(space, proposal.id)
    engine = make_engine(app[SETTINGS].database_url)  # another process's connection
    try:
        async with visitor(server) as anonymous:
            assert "Plant trees" in (await anonymous.get(page)).text
            async with engine.begin() as conn:
                await conn.execute(update(Proposal).where(Proposal.id == proposal.id).values(title="Plant lime trees"))
            assert "Plant trees" in (await anonymous.get(page)).text  # still the cached copy…
            now = cached(app).clock()
            cached(app).clock = lambda: now + app[SETTINGS].page_cache_seconds
            assert "Plant lime trees" in (await anonymous.get(page)).text  # …until it expires
        async with node_with(migrated, page_cache_seconds=0) as (uncached_app, uncached_server):
            assert not cached(uncached_app).enabled
            async with visitor(uncached_server) as anonymous:
                for title in ("Plant oak trees", "Plant birch trees"):
                    async with engine.begin() as conn:
                        await conn.execute(update(Proposal).where(Proposal.id == proposal.id).values(title=title))
                    assert title in (await anonymous.get(page)).text
            assert cached(uncached_app).hits == 0 and len(cached(uncached_app)) == 0
    finally:
        await engine.dispose()


async def test_the_cache_is_bounded(migrated):
    async with node_with(migrated, page_cache_entries=3) as (app, server):
        space, component, _ = await space_with_component(app)
        async with visitor(server) as anonymous:
            paths = [list_path(space, component) + f"?page={n}" for n in range(1, 6)]
            for path in paths:
                assert (await anonymous.get(path)).status == 200
            assert len(cached(app)) == 3
            hits = cached(app).hits
            await anonymous.get(paths[-1])  # kept: among the three most recent
            await anonymous.get(paths[0])  # evicted: the least recently used
            assert cached(app).hits == hits + 1


def test_bytes_are_bounded_and_oldest_pages_go_first():
    cache = PageCache(ttl=5, max_entries=100, max_bytes=1000)
    for n in range(6):
        cache.put(("page", n), b"x" * 200, (), cache.generation)
    assert len(cache) == 5 and cache.size_bytes == 1000
    assert cache.get(("page", 0)) is None and cache.get(("page", 5)) is not None
    cache.put(("huge",), b"x" * 600, (), cache.generation)  # more than a quarter of the budget
    assert cache.get(("huge",)) is None and len(cache) == 5


def test_a_page_rendered_across_a_write_is_not_kept():
    cache = PageCache(ttl=5, max_entries=10)
    generation = cache.generation
    cache.invalidate()  # a write committed while the page was being rendered
    cache.put(("page",), b"old rows", (), generation)
    assert cache.get(("page",)) is None


@pytest.mark.parametrize("query", ["?page=abc", "?order=%ff%fe", "?" + "x=1&" * 500])
async def test_odd_queries_get_a_page_and_nothing_breaks(app, server, query):
    space, component, _ = await space_with_component(app)
    async with visitor(server) as anonymous:
        for _ in range(2):
            page = await anonymous.get(list_path(space, component) + query)
            assert page.status == 200 and "<h1>Proposals</h1>" in page.text


async def test_logins_and_other_bookkeeping_writes_keep_the_cache(web, app, server):
    space, component, _ = await space_with_component(app)
    listing = list_path(space, component)
    async with visitor(server) as anonymous:
        await anonymous.get(listing)
        await log_in(web, app, "jordi")  # writes a user (public: empties) then a session (private)
        await anonymous.get(listing)
        hits = cached(app).hits
        await web.post("/logout", {}, csrf_from_path="/")
        assert (await web.login("jordi", "not the password")).status == 422  # a failed attempt is logged
        await anonymous.get(listing)
        assert cached(app).hits == hits + 1


@pytest.mark.parametrize("statement, public", [
    ("SELECT * FROM proposals", False),
    ('INSERT INTO proposals (title) VALUES (?)', True),
    ("UPDATE proposal_supports SET counted=? WHERE id = ?", True),
    ("DELETE FROM comments WHERE id = $1", True),
    ("INSERT OR REPLACE INTO node_settings VALUES (?, ?)", True),
    ('INSERT INTO "web_sessions" (key) VALUES (?)', False),
    ("DELETE FROM web_sessions WHERE key = ?", False),
    ("  insert into inbox_activities (activity_id) values (?) on conflict do nothing", False),
    ("WITH x AS (SELECT 1) UPDATE web_sessions SET data = ?", True),  # not understood: public
    ("UPDATE public.login_attempts SET n = 1", True),
])
def test_which_statements_write_public_tables(statement, public):
    from node.web.cache import _writes_public_table

    assert _writes_public_table(statement) is public
