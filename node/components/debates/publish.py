"""What the space Group announces about debates: Create when opened, Update when edited or closed
(the conclusion travels with it)."""
from __future__ import annotations

from sqlalchemy import select

from node.accounts.models import User
from node.activitypub.follows import Position, after_position, register_snapshot
from node.components.comments import publish as _comments  # noqa: F401  (its comments federate too)
from node.activitypub.publisher import Publication, PublishContext, register_publisher
from node.components.debates.activities import debate_to_note
from node.components.debates.models import Debate
from node.moderation.visibility import not_hidden
from node.spaces.models import Component, Space

KINDS = {"debate.created": "Create", "debate.updated": "Update", "debate.edited": "Update",
         "debate.closed": "Update"}


def _query():
    return (select(Debate, User.username, Space).outerjoin(User, User.id == Debate.author_id)
            .join(Space, Space.id == Debate.space_id).join(Component, Component.id == Debate.component_id)
            .where(Space.published.is_(True), Component.published.is_(True)))


def _publication(debate: Debate, username: str | None, space: Space, ctx: PublishContext, kind: str) -> Publication:
    author = username if debate.author_id is not None else None
    note = debate_to_note(debate, base_url=ctx.base_url, space_slug=space.slug, author_username=author,
                          locale=ctx.locale)
    return Publication(kind, note, space.id, space.slug, debate.author_id if author else None, author)


async def build(db, event, ctx: PublishContext) -> Publication | None:
    row = (await db.execute(_query().where(Debate.id == event.subject_id))).first()
    return _publication(*row, ctx, KINDS[event.kind]) if row else None


async def snapshot(db, space: Space, ctx: PublishContext, position, limit: int):
    query = _query().where(Debate.space_id == space.id, not_hidden("debate", Debate.id)).order_by(Debate.created_at.desc(), Debate.id.desc()).limit(limit)
    query = query.where(after_position(Debate.created_at, Debate.id, "debate", position))
    return [(Position(debate.created_at, "debate", debate.id),
             _publication(debate, username, row_space, ctx, "Create"))
            for debate, username, row_space in (await db.execute(query)).all()]


register_publisher(tuple(KINDS), build)
register_snapshot(snapshot)
