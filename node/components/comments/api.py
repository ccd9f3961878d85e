"""GET /api/comments: a commentable's comments, flat (parent_id and depth give the tree)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.accounts.models import User
from node.api.authors import REMOTE_AUTHOR_REF, REMOTE_AUTHOR_SCHEMA, remote_author_json
from node.api.pagination import PAGE_PARAMETERS, page_request, page_schema
from node.api.views import json
from node.appkeys import DB, SETTINGS
from node.cohosting.models import RemoteParticipant
from node.components.comments.models import ALIGNMENTS, Comment
from node.components.comments.registry import load_target
from node.groups.acting import OPENAPI_SCHEMA as GROUP_SCHEMA
from node.groups.acting import group_json
from node.groups.models import UserGroup
from node.moderation.visibility import not_hidden
from node.web.errors import user_error


def comment_json(comment: Comment, username: str | None, nickname: str | None, base_url: str,
                 page_url: str, group: dict | None = None, remote: tuple | None = None) -> dict:
    """`remote`: (actor URI, name, home host) of a partner node's resident who wrote it."""
    deleted = comment.deleted
    if deleted:
        author = None
    elif username is not None:
        author = {"username": username, "nickname": nickname, "url": f"{base_url}/users/{username}"}
    else:
        author = remote_author_json(*remote) if remote else None
    return {
        "id": comment.id,
        "url": f"{base_url}{page_url}#comment-{comment.id}",
        "commentable_type": comment.commentable_type,
        "commentable_id": comment.commentable_id,
        "parent_id": comment.parent_id,
        "depth": comment.depth,
        # A deleted comment keeps its place in the tree but says nothing, not even who wrote it.
        "deleted": deleted,
        "author": author,
        "user_group": None if deleted else group,
        "body": None if deleted else comment.body,
        "alignment": comment.alignment,
        "up_votes": comment.up_votes,
        "down_votes": comment.down_votes,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at and not deleted else None,
    }


def comment_query():
    """Comments with what comment_json needs: (Comment, username, nickname, group nickname,
    group name, remote actor, remote name, remote host)."""
    return (select(Comment, User.username, User.nickname, UserGroup.nickname, UserGroup.name,
                   RemoteParticipant.actor_uri, RemoteParticipant.display_name, RemoteParticipant.home_host)
            .outerjoin(User, User.id == Comment.author_id)
            .outerjoin(UserGroup, UserGroup.id == Comment.user_group_id)
            .outerjoin(RemoteParticipant, RemoteParticipant.id == Comment.remote_participant_id))


async def list_comments(request: web.Request) -> web.Response:
    paging = page_request(request)
    commentable_type = request.query.get("commentable_type", "")
    try:
        commentable_id = int(request.query.get("commentable_id", ""))
    except ValueError:
        raise user_error(400, "commentable_type and commentable_id (a whole number) are required.") from None
    where = (Comment.commentable_type == commentable_type, Comment.commentable_id == commentable_id,
             not_hidden("comment", Comment.id), not_hidden("comment", Comment.parent_id))
    async with request.app[DB]() as db:
        target = await load_target(db, commentable_type, commentable_id)
        if target is None or not target.published:
            raise user_error(404, "There is nothing to comment on at this address.")
        total = await db.scalar(select(func.count()).select_from(Comment).where(*where))
        rows = (await db.execute(
            comment_query().where(*where).order_by(Comment.created_at, Comment.id)
            .offset(paging.offset).limit(paging.per_page))).all()
    base = request.app[SETTINGS].base_url
    return json(paging.envelope([comment_json(c, u, n, base, target.url, group=group_json(gn, gname),
                                              remote=(ra, rn, rh))
                                 for c, u, n, gn, gname, ra, rn, rh in rows], total))


def setup_api(app: web.Application) -> None:
    """Adds /api/comments once, whichever commentable component asks first."""
    if "api_comments" not in app.router.named_resources():
        app.router.add_get("/api/comments", list_comments, name="api_comments")


def openapi() -> tuple[dict, dict]:
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    paths = {"/api/comments": {"get": {
        "summary": "Comments of a commentable resource (debate, proposal…), oldest first",
        "operationId": "listComments",
        "parameters": [
            {"name": "commentable_type", "in": "query", "required": True,
             "schema": {"type": "string", "examples": ["debate", "proposal"]}},
            {"name": "commentable_id", "in": "query", "required": True, "schema": {"type": "integer"}},
            *PAGE_PARAMETERS],
        "responses": {"200": {"description": "A page of comments", "content": {"application/json": {
            "schema": page_schema("#/components/schemas/Comment")}}}, "400": error, "404": error}}}}
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    schemas = {"Comment": {
        "type": "object",
        "required": ["id", "url", "commentable_type", "commentable_id", "parent_id", "depth", "deleted",
                     "author", "user_group", "body", "alignment", "up_votes", "down_votes", "created_at", "edited_at"],
        "properties": {
            "id": {"type": "integer"}, "url": {"type": "string", "format": "uri"},
            "commentable_type": {"type": "string"}, "commentable_id": {"type": "integer"},
            "parent_id": {"type": ["integer", "null"]},
            "depth": {"type": "integer", "minimum": 0, "description": "0 for a comment, 1 for a reply…"},
            "deleted": {"type": "boolean",
                        "description": "A deleted comment is a placeholder: author and body are null."},
            # This node's account, a partner node's resident (``remote: true``), or null (deleted
            # comment, deleted account).
            "author": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["username", "nickname", "url"],
                                                    "properties": {"username": {"type": "string"},
                                                                   "nickname": {"type": "string"},
                                                                   "url": {"type": "string", "format": "uri"}}},
                                 REMOTE_AUTHOR_REF]},
            "user_group": GROUP_SCHEMA,
            "body": {"type": ["string", "null"], "description": "Markdown as written by the author."},
            "alignment": {"enum": [*ALIGNMENTS, None],
                          "description": "Only on commentables that support it (proposals)."},
            "up_votes": {"type": "integer"}, "down_votes": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"}, "edited_at": nullable_time}},
        "RemoteAuthor": REMOTE_AUTHOR_SCHEMA}
    return paths, schemas
