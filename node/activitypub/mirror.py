"""Follower side: a resident follows a space of another node and reads it here, read-only.

Following sends ``Follow`` from the resident's Person to the space's Group; the Group's
``Accept`` marks it accepted.  The mirror is filled at once from the Group's outbox (its current
content, fetched from its origin) and kept current by the Group's ``Announce`` of Create, Update
and Delete.  Everything stored is checked first: the object's id is on the Group's origin and it
belongs to that Group (``audience``, or a reply to an item of it); its HTML is sanitised with
the same allow-list as local text.  A space nobody here follows any more stays readable but
stops changing.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import nh3
from aiohttp import web
from sqlalchemy import select

from federation.vocab import AS_CONTEXT, id_of, moment_of, same_origin, types_of
from node.activitypub import uris
from node.activitypub.follow_models import RemoteFollow, RemoteItem, RemoteSpace
from node.activitypub.inbox import POLICIES, InboxContext, remote_actors
from node.activitypub.models import RemoteActorRecord
from node.appkeys import DB, SETTINGS
from node.db.base import utcnow
from node.i18n import N_
from node.web.text import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES

log = logging.getLogger("civicnode.mirror")

BACKFILL_PAGES = 10  # 500 items: the newest of a large space; later ones arrive as Announces
ALIGNMENTS = ("in_favor", "against", "neutral")


class FollowError(Exception):
    """Following failed; ``message`` is a gettext msgid with %(…)s ``values``, for the resident."""

    def __init__(self, message: str, **values: Any):
        super().__init__(message % values if values else message)
        self.message, self.values = message, values


def sanitise(html: Any) -> str:
    if not isinstance(html, str):
        return ""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     link_rel="nofollow ugc noopener", url_schemes=URL_SCHEMES)


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


# --- following ------------------------------------------------------------------------------------


async def resolve_space(app: web.Application, query: str):
    """The Group actor that ``query`` (``slug@host``, ``@slug@host`` or a URL) names."""
    from federation.actors import ActorError
    from federation.fetch import FetchError
    from federation.webfinger import WebFingerError, resolve_webfinger

    query = (query or "").strip()
    if not query:
        raise FollowError(N_("Enter the address of a space, like budget-2027@city.example."))
    actors = remote_actors(app)
    try:
        url = query if query.startswith(("https://", "http://")) else await resolve_webfinger(actors.fetcher, query)
        host = urlsplit(url).netloc.lower()
        if host == urlsplit(app[SETTINGS].base_url).netloc.lower():
            raise FollowError(N_("This space is on this node: open it from the list of spaces."))
        refusal = await app[POLICIES].refusal(host)
        if refusal:
            raise FollowError(N_("This node does not federate with %(host)s."), host=host)
        actor = await actors.fetch(url)
    except WebFingerError:
        raise FollowError(N_("%(query)s is not an address like budget-2027@city.example."), query=query) from None
    except FetchError as exc:
        log.info("following %s failed: %s", query, exc)
        if exc.code == "http_status" and exc.status in (404, 410):
            raise FollowError(N_("No space was found at %(query)s."), query=query) from None
        raise FollowError(N_("The node of %(query)s could not be reached or gave an unusable answer; try "
                             "again later."), query=query) from None
    except ActorError:
        raise FollowError(N_("%(query)s did not answer with a usable actor document."), query=query) from None
    if actor.kind != "Group":
        raise FollowError(N_("%(query)s is not a space (it is a %(kind)s); only spaces can be followed here."),
                          query=query, kind=actor.kind)
    return actor


async def refresh_space(app: web.Application, actor) -> None:
    """A followed space's ``Update``: its name, description and addresses as it now publishes
    them (``actor`` was just refetched from its origin).  Spaces nobody here follows are not kept."""
    async with app[DB].begin() as db:
        if await db.scalar(select(RemoteSpace.id).where(RemoteSpace.uri == actor.id)) is not None:
            await _store_space(db, actor)


async def _store_space(db, actor) -> RemoteSpace:
    document = await db.scalar(select(RemoteActorRecord.document).where(RemoteActorRecord.uri == actor.id)) or {}
    host = urlsplit(actor.id).netloc.lower()
    values = dict(host=host, handle=f"{actor.preferred_username or actor.id.rsplit('/', 1)[-1]}@{host}",
                  name=_text(actor.name, 500), summary=sanitise(document.get("summary")),
                  url=actor.url if actor.url and same_origin(actor.url, actor.id) else actor.id,
                  inbox=actor.inbox, outbox=actor.outbox,
                  federation_policy=_text(document.get("federationPolicy"), 16), fetched_at=utcnow())
    space = await db.scalar(select(RemoteSpace).where(RemoteSpace.uri == actor.id))
    if space is None:
        space = RemoteSpace(uri=actor.id, **values)
        db.add(space)
    else:
        for key, value in values.items():
            setattr(space, key, value)
    await db.flush()
    return space


async def follow_space(app: web.Application, user, query: str) -> RemoteSpace:
    """``user`` follows the remote space ``query`` names; the mirror is filled before returning."""
    from node.activitypub.outbox import enqueue

    actor = await resolve_space(app, query)
    base = app[SETTINGS].base_url
    async with app[DB].begin() as db:
        space = await _store_space(db, actor)
        follow = await db.scalar(select(RemoteFollow).where(RemoteFollow.remote_space_id == space.id,
                                                            RemoteFollow.user_id == user.id))
        if follow is None or follow.state == "rejected":
            if follow is not None:
                await db.delete(follow)
                await db.flush()
            person = uris.user_actor(base, user.username)
            follow = RemoteFollow(remote_space_id=space.id, user_id=user.id, state="pending",
                                  follow_activity_id=f"{person}/follows/{uuid.uuid4()}")
            db.add(follow)
            activity = {"@context": AS_CONTEXT, "id": follow.follow_activity_id, "type": "Follow",
                        "actor": person, "object": actor.id, "to": [actor.id]}
            await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[actor.inbox])
        space_id, backfilled = space.id, space.backfilled_at is not None
    if not backfilled:
        await backfill(app, space_id)
    async with app[DB]() as db:
        return await db.get(RemoteSpace, space_id)


async def unfollow_space(app: web.Application, user, space_id: int) -> bool:
    from node.activitypub.outbox import enqueue

    base = app[SETTINGS].base_url
    async with app[DB].begin() as db:
        row = (await db.execute(select(RemoteFollow, RemoteSpace).join(RemoteSpace)
                                .where(RemoteFollow.remote_space_id == space_id,
                                       RemoteFollow.user_id == user.id))).first()
        if row is None:
            return False
        follow, space = row
        person = uris.user_actor(base, user.username)
        undo = {"@context": AS_CONTEXT, "id": f"{follow.follow_activity_id}/undo", "type": "Undo", "actor": person,
                "object": {"id": follow.follow_activity_id, "type": "Follow", "actor": person, "object": space.uri},
                "to": [space.uri]}
        await enqueue(db, actor_type="user", actor_id=user.id, activity=undo, inboxes=[space.inbox])
        await db.delete(follow)
    return True


async def backfill(app: web.Application, space_id: int) -> int:
    """Read the Group's outbox (newest first, up to BACKFILL_PAGES pages) into the mirror."""
    from federation.fetch import FetchError

    async with app[DB]() as db:
        space = await db.get(RemoteSpace, space_id)
    if space is None or not space.outbox:
        return 0
    fetcher, stored = remote_actors(app).fetcher, 0
    try:
        collection = await fetcher.get_json(space.outbox)
        page: Any = collection.get("first") if "orderedItems" not in collection else collection
        for _ in range(BACKFILL_PAGES):
            if isinstance(page, str):
                if not same_origin(page, space.uri):
                    break
                page = await fetcher.get_json(page)
            if not isinstance(page, dict):
                break
            items = page.get("orderedItems") or page.get("items") or []
            async with app[DB].begin() as db:
                space = await db.get(RemoteSpace, space_id)
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and types_of(item)[:1] == ["Create"]:
                        stored += await apply(db, space, "Create", item.get("object"))
            page = page.get("next")
            if not page:
                break
    except FetchError as exc:  # a partial mirror still helps; Announces fill the rest
        log.info("backfilling %s stopped: %s", space.uri, exc)
    async with app[DB].begin() as db:
        space = await db.get(RemoteSpace, space_id)
        space.backfilled_at = utcnow()
    return stored


# --- what the Group sends -------------------------------------------------------------------------


async def _answered(ctx: InboxContext, activity: dict, actor, state: str) -> None:
    follow_id = id_of(activity.get("object"))
    if not follow_id:
        return
    async with ctx.app[DB].begin() as db:
        row = (await db.execute(select(RemoteFollow, RemoteSpace).join(RemoteSpace)
                                .where(RemoteFollow.follow_activity_id == follow_id))).first()
        if row is None or row[1].uri != actor.id:
            return  # not ours, or answered by someone who was not asked
        row[0].state, row[0].answered_at = state, utcnow()


async def on_accept(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "accepted")


async def on_reject(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "rejected")


async def on_announce(ctx: InboxContext, activity: dict, actor) -> None:
    async with ctx.app[DB].begin() as db:
        space = await db.scalar(select(RemoteSpace).where(RemoteSpace.uri == actor.id))
        if space is None:
            return  # a Group nobody here follows (or a boost by a person): not for the mirror
        inner = activity.get("object")
        if isinstance(inner, str) and same_origin(inner, space.uri):
            return  # kept by reference: the pipeline could not vouch for it; Announces we make embed it
        if not isinstance(inner, dict):
            return
        kinds = types_of(inner)
        if "Create" in kinds or "Update" in kinds:
            await apply(db, space, "Create" if "Create" in kinds else "Update", inner.get("object"))
        elif "Delete" in kinds:
            await apply(db, space, "Delete", inner.get("object"))
        else:
            await apply(db, space, "Create", inner)  # a plain Announce of an object


def _kind(obj: dict) -> str | None:
    kinds = types_of(obj)
    if "Article" in kinds:
        return "proposal"
    if "Note" in kinds:
        return "comment" if obj.get("inReplyTo") else "debate"
    return None


async def _belongs(db, space: RemoteSpace, obj: dict, kind: str) -> bool:
    audience = id_of(obj.get("audience"))
    if audience is not None:
        return audience == space.uri
    if kind == "comment":
        parent = id_of(obj.get("inReplyTo"))
        owner = await db.scalar(select(RemoteItem.remote_space_id).where(RemoteItem.uri == parent))
        return owner == space.id
    return False


async def apply(db, space: RemoteSpace, activity_type: str, obj: Any) -> int:
    """Store one Create/Update/Delete of ``obj`` in ``space``'s mirror; 1 if something changed."""
    object_id = id_of(obj)
    if not object_id or not same_origin(object_id, space.uri):
        return 0  # a Group speaks only for objects of its own origin
    item = await db.scalar(select(RemoteItem).where(RemoteItem.uri == object_id))
    if item is not None and item.remote_space_id != space.id:
        return 0
    if activity_type == "Delete" or "Tombstone" in types_of(obj):
        if item is None or item.deleted_at is not None:
            return 0
        item.deleted_at, item.name, item.content_html, item.support_count = utcnow(), "", "", None
        item.document = {"id": object_id, "type": "Tombstone"}
        return 1
    if not isinstance(obj, dict):
        return 0
    kind = _kind(obj)
    if kind is None or not await _belongs(db, space, obj, kind):
        return 0
    updated = moment_of(obj.get("updated")) or moment_of(obj.get("published"))
    if item is not None and (item.deleted_at is not None
                             or (updated and item.updated and updated < _aware(item.updated))):
        return 0  # deleted stays deleted; an older Update arriving late changes nothing
    count = obj.get("supportCount")
    url = id_of(obj.get("url"))
    values = dict(
        kind=kind, in_reply_to=id_of(obj.get("inReplyTo")) if kind == "comment" else None,
        attributed_to=id_of(obj.get("attributedTo")) or space.uri, name=_text(obj.get("name"), 500),
        content_html=sanitise(obj.get("content")), url=url if url and same_origin(url, space.uri) else object_id,
        state=_text(obj.get("state"), 32) or None,
        support_count=count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None,
        fingerprint=_text(obj.get("fingerprint"), 128) or None,
        alignment=obj.get("alignment") if obj.get("alignment") in ALIGNMENTS else None,
        category=_text(obj.get("category"), 255) or None, published=moment_of(obj.get("published")),
        updated=updated, document=obj)
    if item is None:
        db.add(RemoteItem(remote_space_id=space.id, uri=object_id, **values))
    else:
        for key, value in values.items():
            setattr(item, key, value)
    await db.flush()
    return 1
