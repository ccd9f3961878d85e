"""The search page (/search) and its JSON twin (/api/search), with the same parameters."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from node.api.pagination import PAGE_PARAMETERS, page_request, page_schema
from node.api.views import json
from node.appkeys import DB, LOCALE, NODE_INFO, SETTINGS
from node.i18n import N_, pick
from node.search.models import ITEM_TYPES
from node.search.query import Hit, item_path, published_space_id, search
from node.search.text import MAX_QUERY_CHARS, MAX_QUERY_WORDS, Query, QueryTooLong, best_text, parse_query, snippet
from node.spaces.models import Space
from node.web.errors import user_error
from node.web.render import render

TYPE_LABELS = {"space": N_("Spaces"), "proposal": N_("Proposals"), "debate": N_("Debates"),
               "comment": N_("Comments")}
ITEM_LABELS = {"space": N_("Space"), "proposal": N_("Proposal"), "debate": N_("Debate"), "comment": N_("Comment")}
STATE_LABELS = {"withdrawn": N_("Withdrawn"), "closed": N_("Closed")}
HTML_PER_PAGE = 20
TOO_LONG = N_("This search is too long: use at most 200 characters and 32 words.")


@dataclass(frozen=True)
class Params:
    q: str
    query: Query
    space: str
    type: str

    def link(self, page: int) -> dict:
        return {k: v for k, v in (("q", self.q), ("space", self.space), ("type", self.type),
                                  ("page", str(page))) if v}


def read_params(request: web.Request) -> Params:
    q = request.query.get("q", "").strip()
    try:
        query = parse_query(q)
    except QueryTooLong:
        raise user_error(400, TOO_LONG) from None
    item_type = request.query.get("type", "")
    if item_type and item_type not in ITEM_TYPES:
        raise user_error(400, N_("Unknown type of result: choose space, proposal, debate or comment."))
    return Params(q, query, request.query.get("space", "").strip(), item_type)


async def run(request: web.Request, params: Params, offset: int, limit: int) -> tuple[int, list[Hit]]:
    async with request.app[DB]() as db:
        space_id = None
        if params.space:
            space_id = await published_space_id(db, params.space)
            if space_id is None:
                raise user_error(404, N_("No published space has this address."))
        return await search(db, params.query, space_id=space_id, item_type=params.type or None,
                            offset=offset, limit=limit)


def result_view(hit: Hit, terms: set[str], locale: str, default: str) -> dict:
    doc = hit.document
    title = pick(doc.title, locale, default) if doc.title else ""
    body = best_text(doc.body, locale, terms) if doc.body else ""
    return {"type": doc.item_type, "id": doc.item_id, "path": item_path(hit), "state": doc.state,
            "title": title, "title_pieces": snippet(title, terms, width=200) if title else [],
            "snippet": snippet(body, terms) if body else [],
            "space_slug": hit.space_slug, "space_title": pick(hit.space_title, locale, default)}


async def search_page(request: web.Request) -> web.Response:
    try:
        params = read_params(request)
    except web.HTTPBadRequest as exc:
        # The form comes back with what was typed and the reason, rather than an error page.
        q, item_type = request.query.get("q", "").strip(), request.query.get("type", "")
        params = Params(q, Query(), request.query.get("space", ""), item_type if item_type in ITEM_TYPES else "")
        return await _page(request, params, error=exc.user_message, status=400)
    return await _page(request, params)


async def _page(request: web.Request, params: Params, error: str = "", status: int = 200) -> web.Response:
    paging = page_request(request, default_per_page=HTML_PER_PAGE)
    total, results = 0, []
    if not params.query.empty and not error:
        total, hits = await run(request, params, paging.offset, paging.per_page)
        locale, default = request.get(LOCALE, "en"), request.app[NODE_INFO].get("default_locale", "en")
        terms = params.query.terms()
        results = [result_view(hit, terms, locale, default) for hit in hits]
    async with request.app[DB]() as db:
        spaces = (await db.execute(select(Space.slug, Space.title).where(Space.published.is_(True))
                                   .order_by(Space.id))).all()
    pages = max(1, -(-total // paging.per_page))
    return render(request, "search/results.html", {
        "params": params, "results": results, "per_page": paging.per_page, "total": total, "page": paging.page, "pages": pages,
        "spaces": spaces, "type_labels": TYPE_LABELS, "item_labels": ITEM_LABELS, "state_labels": STATE_LABELS,
        "max_chars": MAX_QUERY_CHARS, "searched": "q" in request.query, "error": error,
    }, status=status)


def _plain_snippet(pieces: list[tuple[str, bool]]) -> dict:
    text, highlights = "", []
    for part, matched in pieces:
        if matched:
            highlights.append([len(text), len(text) + len(part)])
        text += part
    return {"text": text, "highlights": highlights}


async def api_search(request: web.Request) -> web.Response:
    params = read_params(request)
    if params.query.empty:
        raise user_error(400, N_("Give something to search for in the q parameter."))
    paging = page_request(request)
    total, hits = await run(request, params, paging.offset, paging.per_page)
    base, terms = request.app[SETTINGS].base_url, params.query.terms()
    items = []
    for hit in hits:
        doc = hit.document
        body = best_text(doc.body, request.app[NODE_INFO].get("default_locale", "en"), terms) if doc.body else ""
        items.append({"type": doc.item_type, "id": doc.item_id, "url": base + item_path(hit),
                      "space": {"slug": hit.space_slug, "title": hit.space_title},
                      "title": doc.title, "state": doc.state or None,
                      "snippet": _plain_snippet(snippet(body, terms)) if body else None})
    return json(paging.envelope(items, total))


def openapi() -> tuple[dict, dict]:
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    parameters = [
        {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": MAX_QUERY_CHARS},
         "description": f"Words (all must match), \"quoted phrases\", -excluded words, OR between "
                        f"alternatives; case and accents are ignored; at most {MAX_QUERY_WORDS} words."},
        {"name": "space", "in": "query", "schema": {"type": "string"}, "description": "A published space's slug."},
        {"name": "type", "in": "query", "schema": {"type": "string", "enum": list(ITEM_TYPES)}},
        *PAGE_PARAMETERS,
    ]
    paths = {"/api/search": {"get": {
        "summary": "Full-text search of published content", "operationId": "search", "parameters": parameters,
        "responses": {"200": {"description": "A page of results, best first", "content": {"application/json": {
            "schema": page_schema("#/components/schemas/SearchResult")}}}, "400": error, "404": error}}}}
    schemas = {"SearchResult": {
        "type": "object", "required": ["type", "id", "url", "space", "title"],
        "properties": {
            "type": {"type": "string", "enum": list(ITEM_TYPES)}, "id": {"type": "integer"},
            "url": {"type": "string", "format": "uri"},
            "space": {"type": "object", "properties": {"slug": {"type": "string"},
                                                       "title": {"$ref": "#/components/schemas/Translated"}}},
            "title": {"$ref": "#/components/schemas/Translated"},
            "state": {"type": ["string", "null"], "enum": ["withdrawn", "closed", None]},
            "snippet": {"type": ["object", "null"], "description": "Text around the first match; highlights "
                        "are [start, end) character offsets of matched words.",
                        "properties": {"text": {"type": "string"}, "highlights": {
                            "type": "array", "items": {"type": "array", "items": {"type": "integer"}}}}}}}}
    return paths, schemas
