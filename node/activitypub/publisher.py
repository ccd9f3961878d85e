"""From participation events to the space Group's Announces.

Components record events (node.events) in the transaction of each change; this publisher turns
the ones a component knows how to federate into ``Announce{Create|Update|Delete{object}}`` by the
space's Group, addressed to the space's followers (FEP-1b12, as Lemmy communities do), and puts
them in the durable outbox.  The inner activity is the author's, with an FEP-8b32 proof made with
the author's Ed25519 key, so that it stays verifiable once relayed.

Components register a builder per event kind:

    register_publisher(("proposal.created",), build)   # async build(db, event, ctx) -> Publication | None

The builder reads the current state of the subject (an Update always carries the whole object,
so two quick edits both send the latest text).  Each event is handled once: a row in
``published_events`` is written in the same transaction as the outbox rows; activity ids derive
from the event id, so two processes racing on one event enqueue the same ids, which the outbox
merges.  Events older than ``LOOKBACK`` are never published (a node that was down for longer
sends current state through its outbox collection instead).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import exists, insert, select

from node.activitypub.follow_models import PublishedEvent, SpaceFollower
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.db.base import utcnow
from node.events import Event, EventProcessor
from node.moderation.visibility import is_hidden

log = logging.getLogger("civicnode.publisher")

LOOKBACK = timedelta(days=2)
BATCH = 100
POLL_SECONDS = 5.0  # events committed by another process are seen within this


@dataclass(frozen=True)
class Publication:
    activity_type: str  # Create, Update or Delete
    object: dict[str, Any]  # the ActivityStreams object (or Tombstone for Delete)
    space_id: int
    space_slug: str
    author_id: int | None  # the local user who acts; None: the Group itself
    author_username: str | None


@dataclass(frozen=True)
class PublishContext:
    base_url: str
    locale: str  # the node's default language: translated fields are sent in it (contentMap)


Builder = Callable[[Any, Event, PublishContext], Awaitable["Publication | None"]]
_BUILDERS: dict[str, Builder] = {}


def register_publisher(kinds: tuple[str, ...], build: Builder) -> None:
    for kind in kinds:
        _BUILDERS[kind] = build


def builder_for(kind: str) -> Builder | None:
    return _BUILDERS.get(kind)


def activity_ids(base_url: str, event_id: int) -> tuple[str, str]:
    """(inner activity id, Announce id) of one event."""
    return f"{base_url}/activities/{event_id}", f"{base_url}/activities/{event_id}/announce"


async def followers_of_space(db, space_id: int) -> list[SpaceFollower]:
    return list(await db.scalars(select(SpaceFollower).where(SpaceFollower.space_id == space_id)
                                 .order_by(SpaceFollower.id)))


async def signed_activity(db, publication: Publication, base_url: str, activity_id: str) -> dict:
    """The author's Create/Update/Delete with its FEP-8b32 proof (the Group's when no author)."""
    from federation.proofs import create_proof
    from node.components.comments.activities import group_id, user_id, wrap
    from node.keystore import ensure_keys

    if publication.author_id is not None and publication.author_username:
        actor, owner = user_id(base_url, publication.author_username), ("user", publication.author_id)
    else:
        actor, owner = group_id(base_url, publication.space_slug), ("space", publication.space_id)
    activity = wrap(publication.activity_type, actor, publication.object, activity_id=activity_id)
    key = await ensure_keys(db, *owner)
    from node.keystore import verification_method

    return create_proof(activity, key.ed25519_seed_hex, await verification_method(actor, key, db))


async def publish_event(db, event: Event, ctx: PublishContext) -> bool:
    """Enqueue the Announce of one event (in the caller's transaction); True if one was sent."""
    from node.activitypub.outbox import delivery_targets, enqueue
    from node.components.comments.activities import announce, followers_of, group_id

    db.add(PublishedEvent(event_id=event.id))
    if event.kind in ACTOR_EVENTS:
        return await _update_space_actor(db, event, ctx)
    build = _BUILDERS.get(event.kind)
    if build is None or event.space_id is None:
        return False
    if not event.kind.startswith("moderation.") and await is_hidden(db, event.subject_type, event.subject_id):
        return False  # a hidden item's later changes stay on the node (node.moderation)
    followers = await followers_of_space(db, event.space_id)
    if not followers:
        return False
    publication = await build(db, event, ctx)
    if publication is None:
        return False
    base_url = ctx.base_url
    inner_id, announce_id = activity_ids(base_url, event.id)
    inner = await signed_activity(db, publication, base_url, inner_id)
    group = group_id(base_url, publication.space_slug)
    activity = announce(group, inner, announce_id=announce_id, followers=followers_of(group))
    inboxes = delivery_targets(followers)
    await enqueue(db, actor_type="space", actor_id=publication.space_id, activity=activity, inboxes=inboxes)
    if publication.activity_type == "Create" and not publication.object.get("inReplyTo"):
        # Mastodon and Pleroma ignore Announce{Create}; a plain Announce of a new proposal or
        # debate shows it to their users as a boost (what Lemmy sends them, lemmy#1898).  Comments
        # are not boosted: they would flood timelines (lemmy#2224).
        boost = announce(group, publication.object, announce_id=announce_id.replace("/announce", "/boost"),
                         followers=followers_of(group))
        await enqueue(db, actor_type="space", actor_id=publication.space_id, activity=boost, inboxes=inboxes)
    return True


# Events that change a space's own actor document: sent as an Update of the Group by the Group,
# not as an Announce of an object.
ACTOR_EVENTS = ("space.updated",)


async def _update_space_actor(db, event: Event, ctx: PublishContext) -> bool:
    from node.activitypub.space_updates import queue_space_update
    from node.spaces.models import Space

    space = await db.get(Space, event.subject_id)
    if space is None:
        return False
    queued, _inboxes = await queue_space_update(db, space, base_url=ctx.base_url, default_locale=ctx.locale,
                                                update_id=f"event-{event.id}")
    return queued is not None


def _pending(*columns):
    return (select(*columns).where(Event.created_at > utcnow() - LOOKBACK,
                                   ~exists().where(PublishedEvent.event_id == Event.id)))


async def publish_pending(sessionmaker, ctx: PublishContext, *, limit: int = BATCH) -> int:
    """Handle up to ``limit`` unpublished events, oldest first; returns how many were handled."""
    async with sessionmaker.begin() as db:
        if await db.scalar(select(SpaceFollower.id).limit(1)) is None:
            # Nobody follows any space here: the events are handled by doing nothing, and the
            # federation mapping is not even loaded.
            ids = list(await db.scalars(_pending(Event.id).order_by(Event.id).limit(limit)))
            if ids:
                now = utcnow()
                await db.execute(insert(PublishedEvent), [{"event_id": i, "published_at": now} for i in ids])
            return len(ids)
        from node.components.registry import import_publish_modules

        import_publish_modules()
        import node.moderation.publish  # noqa: F401  (hidden items are sent as Delete)
        events = list(await db.scalars(_pending(Event).where(Event.kind.in_([*_BUILDERS, *ACTOR_EVENTS]))
                                       .order_by(Event.id).limit(limit)))
        for event in events:
            try:
                async with db.begin_nested():
                    await publish_event(db, event, ctx)
            except Exception:  # one broken event must not hold back the others, nor loop forever
                log.exception("could not publish event %s (%s); skipped", event.id, event.kind)
                db.add(PublishedEvent(event_id=event.id))
    return len(events)


class Publisher(EventProcessor):
    """Runs in `civicnode serve` (node.events.EventProcessor)."""

    def __init__(self, sessionmaker, context: Callable[[], PublishContext], poll_seconds: float = POLL_SECONDS):
        super().__init__(sessionmaker, poll_seconds)
        self.context = context

    async def run_round(self) -> None:
        while await publish_pending(self.sessionmaker, self.context()) == BATCH:
            pass


PUBLISHER = web.AppKey("publisher", dict)


def setup_publisher(app: web.Application) -> None:
    app[PUBLISHER] = {"publisher": None}

    async def run(app: web.Application):
        def context() -> PublishContext:
            return PublishContext(app[SETTINGS].base_url,
                                  app[NODE_INFO].get("default_locale") or app[SETTINGS].default_locale)

        publisher = Publisher(app[DB], context)
        publisher.start()
        app[PUBLISHER]["publisher"] = publisher
        try:
            yield
        finally:
            await publisher.stop()

    app.cleanup_ctx.append(run)
