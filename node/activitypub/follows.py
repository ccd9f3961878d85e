"""Host side of following: a remote actor Follows a space's Group; the Group Accepts and from then
on Announces what happens in the space to its followers (node.activitypub.publisher).

Also the Group's public collections: ``/spaces/<slug>/followers`` (a count only: who follows a
consultation is nobody's business, as Mastodon's "hide network") and ``/spaces/<slug>/outbox``,
the space's current content newest first, which a new follower reads to fill its mirror.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import and_, delete, false, func, or_, select, true

from federation.vocab import AS_CONTEXT, id_of, types_of
from node.activitypub import uris
from node.activitypub.follow_models import SpaceFollower
from node.activitypub.inbox import InboxContext
from node.activitypub.negotiation import activity_response
from node.activitypub.publisher import Publication, PublishContext
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.spaces.models import Space

log = logging.getLogger("civicnode.follows")

OUTBOX_PAGE = 50

# Items of the outbox are in one total order across kinds, newest first: (published, kind, id).
@dataclass(frozen=True, order=True)
class Position:
    published: datetime
    kind: str
    id: int

    def token(self) -> str:
        return f"{_aware(self.published).isoformat()}~{self.kind}~{self.id}"


def after_position(published_column, id_column, kind: str, position: Position | None):
    """The WHERE clause of a provider of ``kind``: items strictly after ``position`` in the order."""
    if position is None:
        return true()
    moment = _aware(position.published)
    if kind < position.kind:
        same_moment = true()
    elif kind == position.kind:
        same_moment = id_column < position.id
    else:
        same_moment = false()
    return or_(published_column < moment, and_(published_column == moment, same_moment))


# async (db, space, ctx, position, limit) -> [(Position, Publication)] after ``position`` (None:
# from the newest), newest first; providers order by (published desc, id desc).
Snapshot = Callable[[Any, Space, PublishContext, "Position | None", int], Awaitable[list[tuple[Position, Publication]]]]
_SNAPSHOTS: list[Snapshot] = []


def register_snapshot(provider: Snapshot) -> None:
    """A component lists its current objects for the space outbox."""
    if provider not in _SNAPSHOTS:
        _SNAPSHOTS.append(provider)


def local_space_slug(base_url: str, uri: str | None) -> str | None:
    """The slug of ``uri`` when it is one of this node's space actors."""
    prefix = uris.space_actor(base_url, "")
    if not uri or not uri.startswith(prefix):
        return None
    slug = uri[len(prefix):]
    return slug if slug and "/" not in slug and "#" not in slug and "?" not in slug else None


def _answer_id(group: str, kind: str, follow_id: str) -> str:
    return f"{group}#{kind}-{hashlib.sha256(follow_id.encode()).hexdigest()[:24]}"


async def on_follow(ctx: InboxContext, activity: dict, actor) -> None:
    base = ctx.app[SETTINGS].base_url
    slug = local_space_slug(base, id_of(activity.get("object")))
    if slug is None:
        return  # a Follow of someone else (users are not followable yet)
    follow_id = activity["id"]
    group = uris.space_actor(base, slug)
    follow = {"id": follow_id, "type": "Follow", "actor": actor.id, "object": group}
    from node.activitypub.outbox import enqueue

    async with ctx.app[DB].begin() as db:
        space = await db.scalar(select(Space).where(Space.slug == slug))
        if space is None or not space.published:
            return
        row = await db.scalar(select(SpaceFollower).where(SpaceFollower.space_id == space.id,
                                                          SpaceFollower.actor_uri == actor.id))
        if row is None:
            db.add(SpaceFollower(space_id=space.id, actor_uri=actor.id, inbox=actor.inbox,
                                 shared_inbox=actor.shared_inbox, follow_activity_id=follow_id))
        else:  # a repeated Follow (its Accept was lost): refresh the addresses, answer again
            row.inbox, row.shared_inbox, row.follow_activity_id = actor.inbox, actor.shared_inbox, follow_id
        accept = {"@context": AS_CONTEXT, "id": _answer_id(group, "accept", follow_id), "type": "Accept",
                  "actor": group, "object": follow, "to": [actor.id]}
        await enqueue(db, actor_type="space", actor_id=space.id, activity=accept, inboxes=[actor.inbox])


async def on_undo(ctx: InboxContext, activity: dict, actor) -> None:
    undone = activity.get("object")
    if isinstance(undone, dict) and "Follow" not in types_of(undone):
        return
    base = ctx.app[SETTINGS].base_url
    slug = local_space_slug(base, id_of(undone.get("object"))) if isinstance(undone, dict) else None
    undone_id = id_of(undone)
    async with ctx.app[DB].begin() as db:
        query = delete(SpaceFollower).where(SpaceFollower.actor_uri == actor.id)
        if slug is not None:
            space_id = select(Space.id).where(Space.slug == slug).scalar_subquery()
            query = query.where(SpaceFollower.space_id == space_id)
        elif undone_id:
            query = query.where(SpaceFollower.follow_activity_id == undone_id)
        else:
            return
        await db.execute(query)


async def _published_space(request: web.Request, db) -> Space:
    space = await db.scalar(select(Space).where(Space.slug == request.match_info["slug"],
                                                Space.published.is_(True)))
    if space is None:
        raise web.HTTPNotFound(reason="No published space has this address")
    return space


async def followers_collection(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        space = await _published_space(request, db)
        count = await db.scalar(select(func.count()).select_from(SpaceFollower)
                                .where(SpaceFollower.space_id == space.id))
    group = uris.space_actor(request.app[SETTINGS].base_url, space.slug)
    return activity_response({"@context": AS_CONTEXT, "id": f"{group}/followers", "type": "OrderedCollection",
                              "totalItems": count or 0})


def _parse_position(value: str | None) -> Position | None:
    if not value:
        return None
    try:
        moment, kind, number = value.split("~")
        return Position(_aware(datetime.fromisoformat(moment)), kind, int(number))
    except ValueError:
        raise web.HTTPBadRequest(reason="after must be a position given by a previous page's next link") from None


async def outbox_collection(request: web.Request) -> web.Response:
    """The space's current content as Create activities, newest first, 50 a page; a page's
    ``next`` continues before its oldest item."""
    from node.components.comments.activities import document_context, group_id, user_id, wrap
    from node.components.registry import import_publish_modules

    import_publish_modules()  # the providers register themselves

    base = request.app[SETTINGS].base_url
    page = "page" in request.query or "after" in request.query
    position = _parse_position(request.query.get("after"))
    async with request.app[DB]() as db:
        space = await _published_space(request, db)
        group = group_id(base, space.slug)
        outbox = f"{group}/outbox"
        if not page:
            return activity_response({"@context": AS_CONTEXT, "id": outbox, "type": "OrderedCollection",
                                      "first": f"{outbox}?page=true"})
        found: list[tuple[Position, Publication]] = []
        ctx = PublishContext(base, request.app[NODE_INFO].get("default_locale") or request.app[SETTINGS].default_locale)
        for provider in _SNAPSHOTS:
            found.extend(await provider(db, space, ctx, position, OUTBOX_PAGE))
    found.sort(key=lambda pair: (_aware(pair[0].published), pair[0].kind, pair[0].id), reverse=True)
    found = found[:OUTBOX_PAGE]
    items = []
    for _, publication in found:
        actor = (user_id(base, publication.author_username) if publication.author_username else group)
        activity = wrap("Create", actor, publication.object, activity_id=publication.object["id"] + "#create")
        activity.pop("@context", None)
        items.append(activity)
    page_id = f"{outbox}?after={quote(position.token())}" if position else f"{outbox}?page=true"
    document: dict[str, Any] = {"@context": document_context(), "id": page_id, "type": "OrderedCollectionPage",
                                "partOf": outbox, "orderedItems": items}
    if len(found) == OUTBOX_PAGE:
        document["next"] = f"{outbox}?after={quote(found[-1][0].token())}"
    return activity_response(document)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
