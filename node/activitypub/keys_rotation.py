"""Key rotation, both sides: `civicnode keys rotate` here, and other servers' actor Updates.

Rotating revokes the actor's active key pair and creates a new one in one transaction
(node.keystore.rotate_keys).  Other servers learn of it by:

* a space: an ``Update`` of its Group document, queued in the same transaction for the space's
  followers;
* a user: an ``Update`` of its Person document, queued for the nodes hosting the spaces the user
  follows (users cannot be followed yet, so they have no followers to tell);
* the node actor: nothing is sent.  It signs fetches, not activities people follow, and a
  receiver that fails to verify such a signature refetches the actor.

An Update is signed by the delivery worker with the active key, i.e. the new one: it leaves once
running workers' key caches have expired (``_delay``).  Servers told nothing (or not yet) refetch
the actor when a signature by the new key fails to verify (the inbox pipeline does).

Received ``Update`` of an actor (Person, Group, Application…) by that same actor: the cached copy
(memory and ``remote_actors``) is refreshed by fetching the document from its origin again, not
taken from the activity (only the origin speaks for an actor), so that the next signature by the
new key verifies with the cached copy.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import select, update

from federation.vocab import ACTOR_TYPES, id_of, types_of
from node.activitypub import uris
from node.activitypub.delivery_models import Delivery
from node.activitypub.follow_models import SpaceFollower
from node.activitypub.inbox import InboxContext, remote_actors
from node.activitypub.worker import KEY_CACHE_SECONDS
from node.db.base import utcnow
from node.keystore import rotate_keys, verification_method
from node.nodemodels import ActorKey

log = logging.getLogger("civicnode.keys")


class RotationError(Exception):
    """Bad input (an unknown space or user); the message is for the operator."""


@dataclass(frozen=True)
class Rotation:
    owner: str  # "the node actor", "space budget-2027", "user alice"
    actor_id: str | None  # None when the node has no base_url yet
    revoked: ActorKey | None
    new: ActorKey
    verification_method: str | None
    update_inboxes: int  # how many inboxes the Update was queued for
    note: str  # what was, or was not, told to other servers


async def _owner(db, *, node: bool, space: str | None, user: str | None) -> tuple[str, int, object | None]:
    from node.accounts.models import User
    from node.spaces.models import Space

    if node:
        return "node", 0, None
    if space is not None:
        row = await db.scalar(select(Space).where(Space.slug == space.strip()))
        if row is None:
            raise RotationError(f"no space has the address {space!r}")
        return "space", row.id, row
    row = await db.scalar(select(User).where(User.username == user.strip().lower()))
    if row is None:
        raise RotationError(f"no user is called {user!r}")
    return "user", row.id, row


def _actor_id(base_url: str, owner_type: str, row) -> str | None:
    if not base_url:
        return None
    if owner_type == "node":
        return uris.node_actor(base_url)
    if owner_type == "space":
        return uris.space_actor(base_url, row.slug)
    return uris.user_actor(base_url, row.username)


async def rotate(db, *, base_url: str, default_locale: str, node: bool = False, space: str | None = None,
                 user: str | None = None) -> Rotation:
    """Rotate one actor's keys in the caller's transaction and queue what tells other servers."""
    if [node, space is not None, user is not None].count(True) != 1:
        raise RotationError("say whose keys to rotate: one of --node, --space SLUG or --user NAME")
    owner_type, owner_id, row = await _owner(db, node=node, space=space, user=user)
    revoked, new = await rotate_keys(db, owner_type, owner_id)
    actor_id = _actor_id(base_url, owner_type, row)
    method = await verification_method(actor_id, new, db) if actor_id else None
    inboxes = 0
    if owner_type == "space":
        label = f"space {row.slug}"
        inboxes, note = await _announce_space(db, row, new, base_url, default_locale)
    elif owner_type == "user":
        label = f"user {row.username}"
        inboxes, note = await _announce_user(db, row, new, base_url)
    else:
        label = "the node actor"
        note = "Nothing was sent: servers refetch the node actor when its new key is used."
    return Rotation(label, actor_id, revoked, new, method, inboxes, note)


async def _announce_space(db, space, new: ActorKey, base_url: str, default_locale: str) -> tuple[int, str]:
    from node.activitypub.space_updates import queue_space_update

    if await db.scalar(select(SpaceFollower.id).where(SpaceFollower.space_id == space.id).limit(1)) is None:
        return 0, "Nothing was sent: nobody follows this space."
    if not space.published:  # its actor document is not public any more
        return 0, "Nothing was sent: the space is not published."
    if not base_url:
        return 0, ("Nothing was sent: civicnode.toml has no base_url, so the space's address is unknown; "
                   "followers refetch the space when its new key is used.")
    queued, inboxes = await queue_space_update(db, space, base_url=base_url, default_locale=default_locale,
                                               update_id=f"key-{new.id}")
    if queued is None:
        return 0, "Nothing was sent: nobody follows this space."
    await _delay(db, queued)
    return inboxes, (f"Update of the space's actor queued for {inboxes} inbox(es) of its followers; "
                     f"it leaves in {KEY_CACHE_SECONDS} s, once running workers sign with the new key.")


async def _announce_user(db, user, new: ActorKey, base_url: str) -> tuple[int, str]:
    from node.activitypub.space_updates import queue_user_update

    if not base_url:
        return 0, ("Nothing was sent: civicnode.toml has no base_url, so the user's address is unknown; "
                   "servers refetch the user when their new key is used.")
    queued, inboxes = await queue_user_update(db, user, base_url=base_url, update_id=f"key-{new.id}")
    if queued is None:
        return 0, ("Nothing was sent: the user follows no space of another node (and users cannot be "
                   "followed); servers refetch the user when their new key is used.")
    await _delay(db, queued)
    return inboxes, (f"Update of the user's actor queued for {inboxes} inbox(es) of the nodes whose spaces they "
                     f"follow; it leaves in {KEY_CACHE_SECONDS} s, once running workers sign with the new key.")


async def _delay(db, queued) -> None:
    # A running delivery worker keeps a private key for up to KEY_CACHE_SECONDS; the Update waits
    # that long, so that it is signed with the new key.  Until then receivers still hold the old
    # key, which signs the actor's other deliveries meanwhile: nothing is refused.
    await db.execute(update(Delivery).where(Delivery.outbox_activity_id == queued.id)
                     .values(next_attempt_at=utcnow() + timedelta(seconds=KEY_CACHE_SECONDS)))


async def on_actor_update(ctx: InboxContext, activity: dict, actor) -> None:
    """``Update`` whose object is the signer's own actor document: refetch it from its origin.
    Updates of anything else (a note, someone else's actor) are not this handler's business."""
    obj = activity.get("object")
    if id_of(obj) != actor.id:
        return
    if isinstance(obj, dict) and not set(types_of(obj)) & ACTOR_TYPES:
        return
    refreshed = await remote_actors(ctx.app).fetch(actor.id)
    if refreshed.public_key_pem != actor.public_key_pem:
        log.info("%s has a new key (its Update made us refetch it)", actor.id)
    if refreshed.kind == "Group":
        from node.activitypub.mirror import refresh_space

        await refresh_space(ctx.app, refreshed)


async def run_keys_command(settings, args) -> int:
    """`civicnode keys rotate --data DIR (--node | --space SLUG | --user NAME)`."""
    from sqlalchemy.exc import IntegrityError

    from node.cli import CLIError
    from node.db import make_engine, make_sessionmaker
    from node.db.schema import schema_status
    from node.keystore import RotationConflict
    from node.site import load_node_info

    engine = make_engine(settings.database_url)
    try:
        problem = (await schema_status(engine)).problem()
        if problem:
            raise CLIError(problem)
        async with make_sessionmaker(engine).begin() as db:
            info = await load_node_info(db, settings)
            done = await rotate(db, base_url=settings.base_url, default_locale=info.get("default_locale") or "en",
                                node=args.node, space=args.space, user=args.user)
    except RotationError as exc:
        raise CLIError(str(exc)) from None
    except (RotationConflict, IntegrityError):
        raise CLIError("another rotation of these keys ran at the same time; nothing was changed, "
                       "run the command again") from None
    finally:
        await engine.dispose()
    if done.revoked is None:
        print(f"{done.owner} had no keys: created its first key pair (key {done.new.id}).")
    else:
        print(f"Rotated the keys of {done.owner}: key {done.revoked.id} revoked at "
              f"{done.revoked.revoked_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}, new key {done.new.id}.")
    if done.verification_method:
        kept = "; the old key stays published, revoked" if done.revoked is not None else ""
        print(f"Proofs are now made with {done.verification_method}{kept}.")
    print(done.note)
    return 0
