"""Federated objects served at their ids: the same URL is a page for people and an
ActivityStreams document for servers (Mastodon and Lemmy fetch an id to read a reply's parent,
or what a search pasted).  Built by the components' publish builders, so a fetched object is
exactly what an Announce would carry: unpublished objects are 404 here too, and what moderators
hid is a Tombstone (410), as the Delete its followers received says."""
from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web

from node.activitypub.negotiation import activity_response, wants_activity_json
from node.activitypub.publisher import PublishContext, builder_for
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.web.errors import user_error


async def object_document(app: web.Application, created_kind: str, object_id: int) -> dict | None:
    """The object as the builder of ``created_kind`` (e.g. "proposal.created") makes it."""
    from node.components.registry import import_publish_modules

    import_publish_modules()
    build = builder_for(created_kind)
    if build is None:
        return None
    ctx = PublishContext(app[SETTINGS].base_url, app[NODE_INFO].get("default_locale") or app[SETTINGS].default_locale)
    async with app[DB]() as db:
        publication = await build(db, SimpleNamespace(kind=created_kind, subject_id=object_id), ctx)
    return publication.object if publication is not None else None


async def _hidden(app: web.Application, created_kind: str, object_id: int) -> bool:
    from node.moderation.visibility import is_hidden

    async with app[DB]() as db:
        return await is_hidden(db, created_kind.split(".")[0], object_id)


def _tombstone(object_id: str) -> web.Response:
    return activity_response({"@context": "https://www.w3.org/ns/activitystreams", "id": object_id,
                              "type": "Tombstone"}, status=410)


async def object_response(request: web.Request, created_kind: str, object_id: int) -> web.Response:
    """For a page's handler when ``wants_activity_json(request)``: the object whose id is this URL."""
    if await _hidden(request.app, created_kind, object_id):
        return _tombstone(request.app[SETTINGS].base_url + request.path)
    document = await object_document(request.app, created_kind, object_id)
    if document is None or document.get("id") != request.app[SETTINGS].base_url + request.path:
        return activity_response({"error": "No published object has this id."}, status=404)
    return activity_response(document)


async def comment(request: web.Request) -> web.Response:
    """/comments/<id>: the Note for servers; people go to the comment on its page."""
    raw = request.match_info["comment_id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise user_error(404, "This comment does not exist.")
    if wants_activity_json(request) and await _hidden(request.app, "comment.created", int(raw)):
        return _tombstone(request.app[SETTINGS].base_url + request.path)
    document = await object_document(request.app, "comment.created", int(raw))
    if wants_activity_json(request):
        return (activity_response(document) if document is not None
                else activity_response({"error": "No published comment has this id."}, status=404))
    if document is None or not document.get("url"):
        raise user_error(404, "This comment does not exist.")
    raise web.HTTPSeeOther(document["url"])
