"""Federated objects served at their ids: the same URL is a page for people and an
ActivityStreams document for servers (Mastodon and Lemmy fetch an id to read a reply's parent,
or what a search pasted).  Built by the components' publish builders, so a fetched object is
exactly what an Announce would carry: unpublished objects are 404 here too, and what moderators
hid is a Tombstone (410), as the Delete its followers received says.

Also the activities this node sent, at their ids (``activity``): the body stored in the outbox,
exactly as it was delivered, when it was public (the rule is ``public_activity``'s)."""
from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web
from sqlalchemy import select

from federation.vocab import AS_CONTEXT, AS_PUBLIC, types_of
from node.activitypub.delivery_models import OutboxActivity
from node.activitypub.negotiation import activity_response, wants_activity_json
from node.activitypub.publisher import PublishContext, activity_ids, builder_for
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.i18n import N_
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


# --- activities at their ids -----------------------------------------------------------------------

PUBLIC = frozenset({AS_PUBLIC, "as:Public", "Public"})
MAX_ID = 2**31  # event ids are 32-bit on PostgreSQL


def _addressees(activity: dict) -> list[str]:
    found = []
    for field in ("to", "cc"):
        value = activity.get(field)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                found.append(item)
    return found


async def public_activity(db, base_url: str, row: OutboxActivity) -> bool:
    """May anyone read this sent activity by its id?  Yes when it was addressed to everyone
    (as:Public, or the followers of a space that is published now: who they are is not shown,
    but what they are sent is the space's public content), and whoever sent it still publishes
    (a published space, an existing user).  Activities addressed to named actors only (Follow,
    Undo, Accept) are never shown: they say who follows what, which the followers collection
    keeps to itself."""
    from node.accounts.models import User
    from node.activitypub.follows import local_space_slug
    from node.spaces.models import Space

    addressees = _addressees(row.body)
    if not PUBLIC & set(addressees):
        slugs = [slug for a in addressees if a.endswith("/followers")
                 and (slug := local_space_slug(base_url, a.removesuffix("/followers")))]
        if not slugs or await db.scalar(select(Space.id).where(Space.slug.in_(slugs), Space.published.is_(True))
                                        .limit(1)) is None:
            return False
    if row.actor_type == "space":
        space = await db.get(Space, row.actor_id)
        return space is not None and space.published
    if row.actor_type == "user":
        return await db.get(User, row.actor_id) is not None
    return True


async def _sent(db, base_url: str, uri: str, event_id: int | None) -> tuple[OutboxActivity, dict] | None:
    """The outbox row of the activity ``uri`` and the activity itself: the row's body, or for an
    author's Create/Update/Delete (``/activities/<event>``) the one embedded in the Group's Announce."""
    row = await db.scalar(select(OutboxActivity).where(OutboxActivity.activity_uri == uri))
    if row is not None:
        return row, row.body
    if event_id is None:
        return None
    inner_id, announce_id = activity_ids(base_url, event_id)
    if uri != inner_id:
        return None
    row = await db.scalar(select(OutboxActivity).where(OutboxActivity.activity_uri == announce_id))
    inner = row.body.get("object") if row is not None else None
    return (row, inner) if isinstance(inner, dict) and inner.get("id") == uri else None


def _carries_content(document: dict) -> bool:
    """Whether the activity holds an object's content (a Create or Update of it, a boost), as
    opposed to its deletion."""
    obj = document
    while isinstance(obj, dict):
        if {"Delete", "Tombstone"} & set(types_of(obj)):
            return False
        obj = obj.get("object")
    return True


async def _still_there(app: web.Application, db, event_id: int) -> bool | None:
    """Of the item an event's activity carries: True if it is still published, False if it was
    since hidden by moderators or deleted, None if it is not published any more (an unpublished
    component) or unknown."""
    from node.events import Event
    from node.moderation.visibility import is_hidden

    event = await db.get(Event, event_id)
    if event is None:
        return None
    kind, subject = event.subject_type, event.subject_id
    deleted = select(Event.id).where(Event.subject_type == kind, Event.subject_id == subject,
                                     Event.kind == f"{kind}.deleted").limit(1)
    if await is_hidden(db, kind, subject) or await db.scalar(deleted) is not None:
        return False
    # The builder returns nothing for an unpublished item or a deleted comment: its old
    # content must not leave the node through an old activity either.
    return True if await object_document(app, f"{kind}.created", subject) is not None else None


def _page_of(document: dict, base_url: str) -> str | None:
    """The HTML page of what the activity is about (its innermost object), when on this node."""
    obj, url = document, None
    while isinstance(obj, dict):
        url = obj.get("url") if isinstance(obj.get("url"), str) else url
        obj = obj.get("object")
    return url if url and url.startswith(base_url + "/") else None


def _page_error(exc: web.HTTPException, message: str) -> web.HTTPException:
    exc.user_message = message  # as user_error does, for statuses it has no class for
    return exc


async def _lookup(request: web.Request, uri: str) -> tuple[dict, bool] | None:
    """(the activity, whether what it carries is still there), or None: unknown or not public."""
    base = request.app[SETTINGS].base_url
    raw = request.match_info.get("event_id")
    event_id = int(raw) if raw is not None and 0 < int(raw) < MAX_ID else None
    if raw is not None and event_id is None:
        return None
    async with request.app[DB]() as db:
        found = await _sent(db, base, uri, event_id)
        if found is None or not await public_activity(db, base, found[0]):
            return None
        document = found[1]
        if event_id is None or not _carries_content(document):
            return document, True
        still_there = await _still_there(request.app, db, event_id)
    return None if still_there is None else (document, still_there)


async def activity(request: web.Request) -> web.Response:
    """``/activities/<event>[/announce|/boost]``, ``/spaces/<slug>/updates/<id>``,
    ``/users/<name>/updates/<id>``: an activity this node sent, at its id."""
    base = request.app[SETTINGS].base_url
    uri = base + request.path
    found = await _lookup(request, uri)
    if wants_activity_json(request):
        if found is None:
            return activity_response({"error": "No public activity has this id."}, status=404)
        document, still_there = found
        if not still_there:
            return activity_response({"@context": AS_CONTEXT, "id": uri, "type": "Tombstone",
                                      "formerType": (types_of(document) or ["Activity"])[0]}, status=410)
        return activity_response(document)
    if found is None:
        raise user_error(404, "No public activity has this address. It may be mistyped, or what it "
                              "was about is not published any more.")
    if not found[1]:
        raise _page_error(web.HTTPGone(), N_("What this activity was about was removed from this node."))
    page = _page_of(found[0], base)
    if page is None:
        raise _page_error(web.HTTPNotAcceptable(), N_("This address is an ActivityPub activity, which other "
                                                      "servers read; it has no page to show."))
    raise web.HTTPSeeOther(page)
