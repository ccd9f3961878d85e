"""Debates in the public JSON API; their comments are served by /api/comments."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.accounts.models import User
from node.api.pagination import PAGE_PARAMETERS, page_request, page_schema
from node.api.views import json
from node.appkeys import DB, SETTINGS
from node.components import comments
from node.components.debates.models import Debate
from node.components.debates.service import debate_path
from node.spaces.models import Component, Space
from node.moderation.visibility import not_hidden
from node.web.errors import user_error

PUBLIC = (Space.published.is_(True), Component.published.is_(True), Component.kind == "debates")


def _time(value) -> str | None:
    return value.isoformat() if value else None


def debate_json(debate: Debate, slug: str, username: str | None, nickname: str | None, base: str) -> dict:
    return {
        "id": debate.id,
        "url": base + debate_path(slug, debate.component_id, debate.id),
        "space": slug,
        "component_id": debate.component_id,
        "official": debate.official,
        "author": {"username": username, "nickname": nickname, "url": f"{base}/users/{username}"}
        if username else None,
        "title": debate.title,
        "description": debate.description,
        "instructions": debate.instructions,
        "start_at": _time(debate.start_at),
        "end_at": _time(debate.end_at),
        "created_at": _time(debate.created_at),
        "closed_at": _time(debate.closed_at),
        "conclusion": debate.conclusion if debate.closed else None,
        "comments_count": debate.comments_count,
        "comments": f"{base}/api/comments?commentable_type=debate&commentable_id={debate.id}",
    }


def _query():
    return (select(Debate, Space.slug, User.username, User.nickname)
            .join(Component, Component.id == Debate.component_id).join(Space, Space.id == Debate.space_id)
            .outerjoin(User, User.id == Debate.author_id).where(*PUBLIC, not_hidden("debate", Debate.id)))


async def space_debates(request: web.Request) -> web.Response:
    paging = page_request(request)
    state = request.query.get("state", "all")
    if state not in ("open", "closed", "all"):
        raise user_error(400, "state must be open, closed or all.")
    where = [Space.slug == request.match_info["slug"]]
    if state != "all":
        where.append(Debate.closed_at.is_(None) if state == "open" else Debate.closed_at.is_not(None))
    async with request.app[DB]() as db:
        if await db.scalar(select(Space.id).where(Space.slug == request.match_info["slug"],
                                                  Space.published.is_(True))) is None:
            raise user_error(404, "No published space has this slug.")
        total = await db.scalar(select(func.count()).select_from(Debate)
                                .join(Component, Component.id == Debate.component_id)
                                .join(Space, Space.id == Debate.space_id).where(*PUBLIC, *where))
        rows = (await db.execute(_query().where(*where).order_by(Debate.created_at, Debate.id)
                                 .offset(paging.offset).limit(paging.per_page))).all()
    base = request.app[SETTINGS].base_url
    return json(paging.envelope([debate_json(*row, base) for row in rows], total))


async def get_debate(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        row = (await db.execute(_query().where(Debate.id == int(request.match_info["debate_id"])))).first()
    if row is None:
        raise user_error(404, "No published debate has this id.")
    return json(debate_json(*row, request.app[SETTINGS].base_url))


def setup_api(app: web.Application) -> None:
    app.router.add_get("/api/spaces/{slug}/debates", space_debates, name="api_space_debates")
    app.router.add_get("/api/debates/{debate_id:\\d+}", get_debate, name="api_debate")
    comments.setup_api(app)


def openapi() -> tuple[dict, dict]:
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok = lambda description, schema: {"description": description, "content": {"application/json": {"schema": schema}}}  # noqa: E731
    paths = {
        "/api/spaces/{slug}/debates": {"get": {
            "summary": "Debates of a published space, oldest first", "operationId": "listSpaceDebates",
            "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "state", "in": "query",
                            "schema": {"type": "string", "enum": ["open", "closed", "all"], "default": "all"}},
                           *PAGE_PARAMETERS],
            "responses": {"200": ok("A page of debates", page_schema("#/components/schemas/Debate")),
                          "400": error, "404": error}}},
        "/api/debates/{debate_id}": {"get": {
            "summary": "One debate", "operationId": "getDebate",
            "parameters": [{"name": "debate_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": ok("The debate", {"$ref": "#/components/schemas/Debate"}), "404": error}}},
    }
    translated = {"$ref": "#/components/schemas/Translated"}
    time = {"type": ["string", "null"], "format": "date-time"}
    schemas = {"Debate": {
        "type": "object",
        "required": ["id", "url", "space", "component_id", "official", "author", "title", "closed_at",
                     "conclusion", "comments_count", "comments"],
        "properties": {
            "id": {"type": "integer"}, "url": {"type": "string", "format": "uri"},
            "space": {"type": "string", "description": "Slug of the space"},
            "component_id": {"type": "integer"},
            "official": {"type": "boolean", "description": "Opened by the organisers rather than a resident"},
            "author": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
                "username": {"type": "string"}, "nickname": {"type": "string"},
                "url": {"type": "string", "format": "uri"}}}]},
            "title": translated, "description": translated, "instructions": translated,
            "start_at": time, "end_at": time, "created_at": {"type": "string", "format": "date-time"},
            "closed_at": time,
            "conclusion": {"oneOf": [{"type": "null"}, translated]},
            "comments_count": {"type": "integer", "description": "Comments not deleted"},
            "comments": {"type": "string", "format": "uri", "description": "Where to read the comments"}}}}
    comment_paths, comment_schemas = comments.openapi()
    return {**paths, **comment_paths}, {**schemas, **comment_schemas}
