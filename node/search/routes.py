"""The search routes; node.search.views (query parsing, snippets, the API schema) is imported by
the first search, not at start-up (node.web.lazy)."""
from __future__ import annotations

from aiohttp import web

from node.web.lazy import lazy


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/search", lazy("node.search.views", "search_page"), name="search")
    app.router.add_get("/api/search", lazy("node.search.views", "api_search"), name="api_search")
