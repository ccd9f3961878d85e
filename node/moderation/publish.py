"""Federation of moderation: hiding an item sends the space Group's Delete{Tombstone} of it (as a
Lemmy community removes a post), unhiding sends its Create again. The object is built by the
item's own component builder, so this module knows no component."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from node.activitypub.publisher import Publication, PublishContext, builder_for, register_publisher
from node.components.comments.activities import tombstone


async def build(db, event, ctx: PublishContext) -> Publication | None:
    inner = builder_for(f"{event.subject_type}.created")
    if inner is None:
        return None
    # The component builders read the subject and choose Create from the kind: give them the
    # item's creation kind, with this event's id (activity ids derive from it).
    created = SimpleNamespace(id=event.id, kind=f"{event.subject_type}.created", subject_type=event.subject_type,
                              subject_id=event.subject_id, space_id=event.space_id, actor_id=event.actor_id,
                              data=event.data, created_at=event.created_at)
    publication = await inner(db, created, ctx)
    if publication is None or event.kind == "moderation.unhidden":
        return publication
    obj = publication.object
    # The moderators' decision, not the author's: the Group signs it.
    return replace(publication, activity_type="Delete", author_id=None, author_username=None,
                   object=tombstone(obj["id"], obj.get("type", "Object"), event.created_at))


register_publisher(("moderation.hidden", "moderation.unhidden"), build)
