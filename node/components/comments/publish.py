"""What the space Group announces about comments: Create, Update (edited) and Delete (a Tombstone:
the body of a deleted comment never leaves the node again).

A partner node's resident's comment (node.cohosting.comments_host) is attributed to their own
actor; the Create around it is the Group's, signed by the Group: this node cannot sign for them,
and their own signed Create is kept in the space's public records."""
from __future__ import annotations

from sqlalchemy import select

from node.accounts.models import User
from node.activitypub.follows import Position, after_position, register_snapshot
from node.activitypub.publisher import Publication, PublishContext, register_publisher
from node.cohosting.models import RemoteParticipant
from node.components.comments.activities import comment_id, comment_to_note
from node.components.comments.models import Comment
from node.moderation.visibility import not_hidden
from node.components.comments.registry import load_target
from node.spaces.models import Space

KINDS = {"comment.created": "Create", "comment.edited": "Update", "comment.deleted": "Delete"}


async def _publication(db, comment: Comment, username: str | None, remote_actor: str | None, space: Space,
                       ctx: PublishContext, activity_type: str) -> Publication | None:
    target = await load_target(db, comment.commentable_type, comment.commentable_id)
    if target is None or not target.published:
        return None
    in_reply_to = (comment_id(ctx.base_url, comment.parent_id) if comment.parent_id
                   else ctx.base_url + target.url)
    note = comment_to_note(comment, base_url=ctx.base_url, author_username=username, in_reply_to_url=in_reply_to,
                           space_slug=space.slug, page_url=target.url, locale=ctx.locale, author_uri=remote_actor)
    if activity_type != "Delete" and note["type"] == "Tombstone":
        return None  # deleted since: its Delete says so
    return Publication(activity_type, note, space.id, space.slug, comment.author_id if username else None, username)


def _query():
    return (select(Comment, User.username, RemoteParticipant.actor_uri, Space)
            .outerjoin(User, User.id == Comment.author_id)
            .outerjoin(RemoteParticipant, RemoteParticipant.id == Comment.remote_participant_id)
            .join(Space, Space.id == Comment.space_id).where(Space.published.is_(True)))


async def build(db, event, ctx: PublishContext) -> Publication | None:
    row = (await db.execute(_query().where(Comment.id == event.subject_id))).first()
    if row is None:
        return None
    return await _publication(db, *row, ctx, KINDS[event.kind])


async def snapshot(db, space: Space, ctx: PublishContext, position, limit: int):
    query = (_query().where(Comment.space_id == space.id, Comment.deleted_at.is_(None), not_hidden("comment", Comment.id))
             .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit))
    query = query.where(after_position(Comment.created_at, Comment.id, "comment", position))
    out = []
    for comment, username, remote_actor, row_space in (await db.execute(query)).all():
        publication = await _publication(db, comment, username, remote_actor, row_space, ctx, "Create")
        if publication is not None:
            out.append((Position(comment.created_at, "comment", comment.id), publication))
    return out


register_publisher(tuple(KINDS), build)
register_snapshot(snapshot)
