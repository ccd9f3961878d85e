"""An ``Update`` of a space's Group document, queued for the space's followers: after a key
rotation (node.activitypub.keys_rotation) and when an administrator edits the space's name or
description (the ``space.updated`` event, through the publisher).  A follower node refetches the
actor and refreshes its copy (keys, name, description: node.activitypub.mirror.refresh_space)."""
from __future__ import annotations

from sqlalchemy import select

from federation.vocab import AS_PUBLIC
from node.activitypub.follow_models import SpaceFollower


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
    document = await space_document(db, base_url, space, default_locale)
    actor = document["id"]
    activity = {"@context": document["@context"], "id": f"{actor}#updates/{update_id}", "type": "Update",
                "actor": actor, "object": document, "to": [AS_PUBLIC], "cc": [document["followers"]]}
    inboxes = delivery_targets(followers)
    queued = await enqueue(db, actor_type="space", actor_id=space.id, activity=activity, inboxes=inboxes)
    return queued, len(inboxes)
