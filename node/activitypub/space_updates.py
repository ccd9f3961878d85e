"""``Update`` of a local actor's own document, queued for the remote inboxes that know the actor:

* a space's Group, for the space's followers: after a key rotation (node.activitypub.keys_rotation)
  and when an administrator edits the space's name or description (the ``space.updated`` event,
  through the publisher);
* a user's Person, after a key rotation, for the nodes hosting the spaces the user follows (they
  verified the user's Follow with the old key; users themselves cannot be followed yet).

A receiving node refetches the actor from its origin and refreshes its copy (keys; for a Group
also name and description: node.activitypub.mirror.refresh_space).

Ids are ``<actor>/updates/<update id>`` (``key-<n>`` for a rotation, ``event-<n>`` for an edit):
derived from what caused them, so that two processes handling one event enqueue one activity, and
served at that address (node.activitypub.objects.activity).  Before, they were
``<actor>#updates/<update id>``; such an id resolves to the actor's current document.
"""
from __future__ import annotations

from sqlalchemy import select

from federation.vocab import AS_PUBLIC
from node.activitypub.follow_models import RemoteFollow, RemoteSpace, SpaceFollower
from node.activitypub.models import RemoteActorRecord


def actor_update_id(actor: str, update_id: str) -> str:
    return f"{actor}/updates/{update_id}"


def actor_update(document: dict, update_id: str) -> dict:
    """The actor's ``Update`` of its own document, public (what it says is in the document anyway)."""
    actor = document["id"]
    return {"@context": document["@context"], "id": actor_update_id(actor, update_id), "type": "Update",
            "actor": actor, "object": document, "to": [AS_PUBLIC], "cc": [document["followers"]]}


async def queue_space_update(db, space, *, base_url: str, default_locale: str, update_id: str):
    """The queued OutboxActivity and the number of inboxes, or (None, 0) when nobody follows the
    space, it is not published (its document is not public) or the node's address is unknown."""
    from node.activitypub.actors import space_document
    from node.activitypub.outbox import delivery_targets, enqueue

    if not space.published or not base_url:
        return None, 0
    followers = list(await db.scalars(select(SpaceFollower).where(SpaceFollower.space_id == space.id)
                                      .order_by(SpaceFollower.id)))
    if not followers:
        return None, 0
    activity = actor_update(await space_document(db, base_url, space, default_locale), update_id)
    inboxes = delivery_targets(followers)
    queued = await enqueue(db, actor_type="space", actor_id=space.id, activity=activity, inboxes=inboxes)
    return queued, len(inboxes)


async def user_update_recipients(db, user_id: int) -> list[dict]:
    """The remote spaces the user follows or asked to follow (a rejected Follow is left out: that
    node wants nothing from us), with their inbox and their node's shared inbox when known."""
    rows = (await db.execute(
        select(RemoteSpace.inbox, RemoteActorRecord.shared_inbox)
        .join(RemoteFollow, RemoteFollow.remote_space_id == RemoteSpace.id)
        .outerjoin(RemoteActorRecord, RemoteActorRecord.uri == RemoteSpace.uri)
        .where(RemoteFollow.user_id == user_id, RemoteFollow.state.in_(("pending", "accepted")))
        .order_by(RemoteSpace.id))).all()
    return [{"inbox": row.inbox, "shared_inbox": row.shared_inbox} for row in rows]


async def queue_user_update(db, user, *, base_url: str, update_id: str):
    """The queued OutboxActivity and the number of inboxes, or (None, 0) when the user follows no
    remote space or the node's address is unknown."""
    from node.activitypub.actors import user_document
    from node.activitypub.outbox import delivery_targets, enqueue

    if not base_url:
        return None, 0
    recipients = await user_update_recipients(db, user.id)
    if not recipients:
        return None, 0
    activity = actor_update(await user_document(db, base_url, user), update_id)
    # Spaces of one node share its shared inbox: one POST per node.
    inboxes = delivery_targets(recipients)
    queued = await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=inboxes)
    return queued, len(inboxes)
