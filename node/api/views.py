"""The node-level API: the OpenAPI document and spaces. Components add their own endpoints."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from node import __version__
from node.api.pagination import PAGE_PARAMETERS, page_request, page_schema
from node.appkeys import DB, SETTINGS
from node.components.registry import kinds
from node.spaces.models import Space
from node.web.errors import user_error

TRANSLATED = {"type": "object", "additionalProperties": {"type": "string"},
              "description": "Text per language code (fr, en, es, ca)."}
ERROR = {"type": "object", "required": ["error", "status"],
         "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                        "status": {"type": "integer"}}}


def json(data, status: int = 200) -> web.Response:
    response = web.json_response(data, status=status)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def space_json(space: Space, base_url: str) -> dict:
    return {
        "slug": space.slug,
        "kind": space.kind,
        "url": f"{base_url}/spaces/{space.slug}",
        "title": space.title,
        "subtitle": space.subtitle,
        "description": space.description,
        "federation_policy": space.federation_policy,
        "phases": [{"title": p.title, "start_date": p.start_date.isoformat() if p.start_date else None,
                    "end_date": p.end_date.isoformat() if p.end_date else None, "active": p.active}
                   for p in space.phases],
        "components": [{"id": c.id, "kind": c.kind, "name": c.name,
                        "url": f"{base_url}/spaces/{space.slug}/c/{c.id}"}
                       for c in space.components if c.published],
    }


async def list_spaces(request: web.Request) -> web.Response:
    paging = page_request(request)
    published = Space.published.is_(True)
    async with request.app[DB]() as db:
        total = await db.scalar(select(func.count()).select_from(Space).where(published))
        spaces = (await db.scalars(
            select(Space).where(published).order_by(Space.id)
            .options(selectinload(Space.phases), selectinload(Space.components))
            .offset(paging.offset).limit(paging.per_page))).all()
    base = request.app[SETTINGS].base_url
    return json(paging.envelope([space_json(s, base) for s in spaces], total))


async def get_space(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        space = await db.scalar(
            select(Space).where(Space.slug == request.match_info["slug"], Space.published.is_(True))
            .options(selectinload(Space.phases), selectinload(Space.components)))
    if space is None:
        raise user_error(404, "No published space has this slug.")
    return json(space_json(space, request.app[SETTINGS].base_url))


def node_openapi() -> tuple[dict, dict]:
    error_response = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    paths = {
        "/api/spaces": {"get": {
            "summary": "Published spaces", "operationId": "listSpaces", "parameters": PAGE_PARAMETERS,
            "responses": {"200": {"description": "A page of spaces", "content": {"application/json": {
                "schema": page_schema("#/components/schemas/Space")}}}, "400": error_response}}},
        "/api/spaces/{slug}": {"get": {
            "summary": "One published space", "operationId": "getSpace",
            "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The space", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Space"}}}}, "404": error_response}}},
    }
    schemas = {
        "Error": ERROR,
        "Translated": TRANSLATED,
        "Space": {"type": "object", "required": ["slug", "kind", "url", "title", "phases", "components"],
                  "properties": {
                      "slug": {"type": "string"}, "kind": {"type": "string", "enum": ["process", "assembly"]},
                      "url": {"type": "string", "format": "uri"},
                      "title": {"$ref": "#/components/schemas/Translated"},
                      "subtitle": {"$ref": "#/components/schemas/Translated"},
                      "description": {"$ref": "#/components/schemas/Translated"},
                      "federation_policy": {"type": "string", "enum": ["local", "partners", "open"]},
                      "phases": {"type": "array", "items": {"type": "object", "properties": {
                          "title": {"$ref": "#/components/schemas/Translated"},
                          "start_date": {"type": ["string", "null"], "format": "date"},
                          "end_date": {"type": ["string", "null"], "format": "date"},
                          "active": {"type": "boolean"}}}},
                      "components": {"type": "array", "items": {"type": "object", "properties": {
                          "id": {"type": "integer"}, "kind": {"type": "string"},
                          "name": {"$ref": "#/components/schemas/Translated"},
                          "url": {"type": "string", "format": "uri"}}}}}},
    }
    return paths, schemas


def openapi_document(base_url: str) -> dict:
    from node.search.views import openapi as search_openapi

    paths, schemas = node_openapi()
    search_paths, search_schemas = search_openapi()
    paths.update(search_paths)
    schemas.update(search_schemas)
    for kind in kinds().values():
        if kind.openapi:
            kind_paths, kind_schemas = kind.openapi()
            paths.update(kind_paths)
            schemas.update(kind_schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "civicnode public API", "version": __version__,
                 "description": "Read-only public data of this participation node."},
        "servers": [{"url": base_url or "/"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


async def openapi(request: web.Request) -> web.Response:
    return json(openapi_document(request.app[SETTINGS].base_url))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi, name="api_openapi")
    app.router.add_get("/api/spaces", list_spaces, name="api_spaces")
    app.router.add_get("/api/spaces/{slug}", get_space, name="api_space")
    for kind in kinds().values():
        if kind.setup_api:
            kind.setup_api(app)
