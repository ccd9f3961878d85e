"""A "microcache" of public pages for anonymous visitors (as nginx's, but inside the process).

Residents mostly read: the proposal list and a proposal's page are the node's busiest pages, and
anonymous visitors (and crawlers) all see the same HTML.  A page is cached only when:

- the request is a GET of a route registered with `cache_routes` (public HTML pages), from a
  visitor with no session cookie (anyone with a session always gets a fresh page), asking for
  HTML (ActivityPub clients negotiate JSON on the same URLs: they are never served from here);
- the answer is a 200 text/html page that sets no cookie (e.g. the random order's new seed).

The key is the host, path and query, the negotiated language, the theme, the editable node
settings, and the cookies a page reads (`vary_on_cookie`).  The page's forms carry the CSRF token
of each visitor's own cookie (node.web.csrf): the page is rendered with a random placeholder
instead, and each visitor's token is put in its place when the page is served.

Freshness: any write committed through the app's engine empties the cache at once (engine
events, so ORM sessions, bulk updates and Core statements alike), except writes to tables that
no public page shows; pages rendered while a write was committing are never kept.  Writes by
other processes (a second `serve`, `civicnode worker`, the CLI) and the passing of time (phase
dates, edit windows) show within `page_cache_seconds`; 0 turns the cache off.
"""
from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from node.appkeys import CSRF_TOKEN, LOCALE, NODE_INFO, SETTINGS, USER
from node.web.sessions import COOKIE_NAME as SESSION_COOKIE

# Tables written on the way (logins, federation bookkeeping) that no public page shows: writing
# them must not empty the cache, or a busy inbox or delivery queue would keep it cold.  What an
# inbox handler makes of an activity (a comment, a follower) is written to public tables.
PRIVATE_TABLES = frozenset({
    "web_sessions", "login_attempts", "password_reset_tokens", "inbox_activities",
    "outbox_activities", "deliveries", "delivery_hosts", "published_events",
    "notifications", "notified_events", "follows",
    # Verification: no public page shows who holds which authorisation.
    "authorisations", "census_entries", "verification_attempts",
})
# Pages differ by visitor only through what the key holds; these headers tell other caches so.
VARY = "Accept, Accept-Language, Cookie"
# The CSRF token makes each copy personal, and the page changes whenever someone participates.
CACHE_CONTROL = "private, no-cache"
MAX_BYTES = 16 * 1024 * 1024

_DML = re.compile(r'\s*(?:insert\s+(?:or\s+\w+\s+)?into|update(?:\s+or\s+\w+)?|delete\s+from|replace\s+into)'
                  r'\s+(?:only\s+)?"?([a-z_][a-z0-9_]*)', re.IGNORECASE)
_WRITE = re.compile(r"\s*(?:insert|update|delete|replace|merge|with|upsert|truncate)\b", re.IGNORECASE)
_DIRTY, _COMMITTED = "page_cache_dirty", "page_cache_committed"


@dataclass(frozen=True)
class Entry:
    parts: tuple[bytes, ...]  # the body, split where the CSRF placeholder was
    headers: tuple[tuple[str, str], ...]
    expires: float
    size: int


class PageCache:
    """Bounded LRU of rendered pages with a time-to-live and a generation that writes bump."""

    def __init__(self, ttl: float, max_entries: int, max_bytes: int = MAX_BYTES, clock=time.monotonic):
        self.ttl, self.max_entries, self.max_bytes = ttl, max_entries, max_bytes
        self.clock = clock  # replaceable in tests
        self.placeholder = secrets.token_hex(32)  # as long as a real token; unguessable
        self._placeholder = self.placeholder.encode()
        self.generation = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def invalidate(self) -> None:
        """Forget every page (a public write was committed)."""
        self.generation += 1
        self._entries, self._bytes = OrderedDict(), 0

    def get(self, key: tuple) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.expires <= self.clock():
            if entry is not None:
                self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: tuple, body: bytes, headers: tuple, generation: int) -> None:
        """Keep a page rendered at `generation`, unless a write was committed since: it may show
        what was there before."""
        if generation != self.generation or len(body) > self.max_bytes // 4:
            return
        self._drop(key)
        entry = Entry(tuple(body.split(self._placeholder)), headers, self.clock() + self.ttl, len(body))
        self._entries[key] = entry
        self._bytes += entry.size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size


PAGE_CACHE = web.AppKey("page_cache", PageCache)
_ROUTES = web.AppKey("page_cache_routes", set)
_COOKIES = web.AppKey("page_cache_cookies", list)


def setup_page_cache(app: web.Application, engine: AsyncEngine) -> PageCache:
    settings = app[SETTINGS]
    cache = PageCache(ttl=settings.page_cache_seconds, max_entries=settings.page_cache_entries)
    app[PAGE_CACHE] = cache
    app[_ROUTES] = set()
    app[_COOKIES] = []
    if cache.enabled:
        _watch_writes(engine.sync_engine, cache)
    return cache


def cache_routes(app: web.Application, *names: str) -> None:
    """Mark named GET routes as public pages that anonymous visitors may get from the cache."""
    app[_ROUTES].update(names)


def vary_on_cookie(app: web.Application, name: str) -> None:
    """A cookie some public page reads (besides the language and CSRF ones): part of the key."""
    if name not in app[_COOKIES]:
        app[_COOKIES].append(name)


def invalidate(app: web.Application) -> None:
    """For changes the engine cannot see (in-memory state that pages show)."""
    app[PAGE_CACHE].invalidate()


def _watch_writes(sync_engine, cache: PageCache) -> None:
    # Flag the connection when a statement writes a public table.  Its COMMIT empties the cache
    # twice: when it starts (pages rendered before are outdated) and once the connection is back
    # in the pool, the commit done (pages rendered while it was under way may have read the old
    # rows).  A page is kept only if no emptying happened while it was rendered (PageCache.put).
    # A rolled-back write leaves its flag until the pool takes the connection back: at worst one
    # needless emptying.  No listener may raise: SQLAlchemy would leave the connection half
    # closed (so there is no rollback listener: an invalidated connection refuses even `.info`).
    @event.listens_for(sync_engine, "after_cursor_execute")
    def after_execute(conn, cursor, statement, parameters, context, executemany):
        try:
            if _writes_public_table(statement):
                conn.info[_DIRTY] = True
        except Exception:
            cache.invalidate()

    @event.listens_for(sync_engine, "commit")
    def on_commit(conn):
        try:
            if conn.info.pop(_DIRTY, False):
                conn.info[_COMMITTED] = True
                cache.invalidate()
        except Exception:
            cache.invalidate()

    @event.listens_for(sync_engine, "checkin")
    def on_checkin(dbapi_connection, record):
        try:
            record.info.pop(_DIRTY, None)
            if record.info.pop(_COMMITTED, False):
                cache.invalidate()
        except Exception:
            cache.invalidate()


def _writes_public_table(statement: str) -> bool:
    if not _WRITE.match(statement):
        return False
    match = _DML.match(statement)
    # Anything not understood (a CTE, a schema-qualified name) counts as public: a needless
    # miss is better than a stale page.
    return match is None or match.group(1).lower() not in PRIVATE_TABLES


def _cacheable_request(request: web.Request) -> bool:
    route = request.match_info.route.name
    return (route is not None and route in request.app[_ROUTES] and request.method == "GET"
            and SESSION_COOKIE not in request.cookies and "json" not in request.headers.get("Accept", "").lower())


def _key(request: web.Request) -> tuple:
    app = request.app
    return (request.host, request.scheme, request.raw_path, request[LOCALE], app[SETTINGS].theme,
            repr(app[NODE_INFO]), *(request.cookies.get(name) for name in app[_COOKIES]))


def _vary(response: web.StreamResponse) -> None:
    response.headers.setdefault("Vary", VARY)
    response.headers.setdefault("Cache-Control", CACHE_CONTROL)


@web.middleware
async def page_cache_middleware(request: web.Request, handler):
    cache = request.app[PAGE_CACHE]
    if not cache.enabled or not _cacheable_request(request):
        response = await handler(request)
        if request.match_info.route.name in request.app[_ROUTES] and response.content_type == "text/html":
            _vary(response)
        return response
    token = request[CSRF_TOKEN]
    key = _key(request)
    entry = cache.get(key)
    if entry is not None:
        return web.Response(body=token.encode().join(entry.parts), headers=entry.headers)
    generation = cache.generation
    request[CSRF_TOKEN] = cache.placeholder
    try:
        response = await handler(request)
    finally:
        request[CSRF_TOKEN] = token
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response  # streamed: rendered without the token (no form), never kept
    body = response.body
    if response.content_type == "text/html":
        _vary(response)
        if (response.status == 200 and not response.cookies and "Set-Cookie" not in response.headers
                and request.get(USER) is None):
            cache.put(key, body, tuple(response.headers.items()), generation)
    placeholder = cache.placeholder.encode()
    if placeholder in body:
        response.body = body.replace(placeholder, token.encode())
    return response


class FragmentCache:
    """Rendered pieces of pages that are shown again and again (a proposal's card in the list, a
    comment in a thread), for logged-in visitors too: node.web.render.fragment.

    An entry is keyed by everything its HTML was rendered from (the template, the language, the
    values passed), and the template sees nothing else: not the request, not the user. So an entry
    can be neither stale nor someone else's: a changed comment, vote count or phase is another key,
    and what depends on the viewer (their vote, whether they may edit) is part of the values.  No
    invalidation is needed; old keys just age out of this bounded LRU.
    """

    def __init__(self, max_entries: int = 4096, max_bytes: int = 8 * 1024 * 1024):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple, tuple[str, ...]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> tuple[str, ...] | None:
        parts = self._entries.get(key)
        if parts is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return parts

    def put(self, key: tuple, parts: tuple[str, ...]) -> None:
        size = sum(map(len, parts))
        if size > self.max_bytes // 64:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= sum(map(len, old))
        self._entries[key] = parts
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= sum(map(len, dropped))
