"""Rules for comments and votes. Every function works inside the caller's transaction and
raises CommentError before writing anything when the input is refused."""
from __future__ import annotations

from sqlalchemy import select, update

from node.accounts.roles import has_role
from node.components.comments.models import ALIGNMENTS, Comment, CommentVote
from node.components.comments.registry import CommentTarget
from node.db.base import utcnow
from node.events import record_event
from node.groups.acting import ActingRefused, acting_group_id
from node.i18n import N_
from node.moderation.visibility import is_hidden

BODY_LIMIT = 5000


class CommentError(Exception):
    """A refused action: HTTP status and a gettext msgid with its %-values."""

    def __init__(self, status: int, message: str, values: dict | None = None, code: str = "") -> None:
        super().__init__(message % (values or {}))
        self.status = status
        self.code = code
        self.message = message
        self.values = values or {}

    def text(self, gettext) -> str:
        return gettext(self.message) % self.values


def clean_body(text) -> str:
    body = str(text or "").replace("\r\n", "\n").strip()
    if not body:
        raise CommentError(422, N_("Write something before sending your comment."))
    if len(body) > BODY_LIMIT:
        raise CommentError(422, N_("A comment can have at most %(n)s characters; yours has %(count)s."),
                           {"n": BODY_LIMIT, "count": len(body)})
    return body


def can_edit(user, comment: Comment, remote_participant=None) -> bool:
    # Moderators may remove a comment but never put words in someone else's mouth.
    if remote_participant is not None:  # a partner node's resident, from their node
        return comment.remote_participant_id == remote_participant.id and not comment.deleted
    return user is not None and comment.author_id == user.id and not comment.deleted


def can_delete(user, comment: Comment) -> bool:
    return user is not None and not comment.deleted and (
        comment.author_id == user.id or has_role(user, "moderator"))


def _check_open(target: CommentTarget) -> None:
    if not target.is_open:
        raise CommentError(403, target.closed_message, code="closed")


async def create_comment(db, target: CommentTarget, *, commentable_type: str, commentable_id: int,
                         author, body, parent_id: int | None = None,
                         alignment: str | None = None, on_behalf_of=None, remote_participant=None) -> Comment:
    """`on_behalf_of`: the id of a verified group the author belongs to (node.groups), or None.
    `remote_participant`: a partner node's resident (node.cohosting.models.RemoteParticipant),
    who comments from their own node; `author` is then None. The same rules hold for both.
    A refusal's `code` says which rule (node.cohosting.comments_host answers with it)."""
    if (author is None) == (remote_participant is None):
        raise ValueError("a comment has one author: a local user or a remote participant")
    _check_open(target)
    if await is_hidden(db, commentable_type, commentable_id):
        raise CommentError(409, N_("Moderators hid this item: it takes no new comments."), code="hidden")
    depth = 0
    if parent_id is not None:
        parent = await db.get(Comment, parent_id)
        if (parent is None or parent.commentable_type != commentable_type
                or parent.commentable_id != commentable_id):
            raise CommentError(404, N_("The comment you replied to does not exist here."), code="parent_gone")
        if parent.deleted:
            raise CommentError(422, N_("The comment you replied to was deleted; you cannot reply to it."),
                               code="parent_gone")
        if await is_hidden(db, "comment", parent.id):
            raise CommentError(409, N_("Moderators hid the comment you replied to; you cannot reply to it."),
                               code="parent_gone")
        if parent.depth >= target.max_depth:
            raise CommentError(422, N_("Replies can only be nested %(n)s levels deep, and this comment is "
                                       "already at the deepest level. Reply to the comment it answers instead."),
                               {"n": target.max_depth}, code="too_deep")
        depth = parent.depth + 1
    body = clean_body(body)
    if target.supports_alignment:
        alignment = alignment or "neutral"
        if alignment not in ALIGNMENTS:
            raise CommentError(422, N_("Choose whether you are in favour, against or neutral."))
    else:
        alignment = None
    try:
        user_group_id = await acting_group_id(db, author, on_behalf_of) if author is not None else None
    except ActingRefused as exc:
        raise CommentError(exc.status, exc.message) from None
    comment = Comment(commentable_type=commentable_type, commentable_id=commentable_id,
                      space_id=target.space_id, component_id=target.component_id, parent_id=parent_id,
                      depth=depth, author_id=author.id if author is not None else None,
                      remote_participant_id=remote_participant.id if remote_participant is not None else None,
                      user_group_id=user_group_id, body=body, alignment=alignment,
                      created_at=utcnow(), up_votes=0, down_votes=0)
    db.add(comment)
    await db.flush()
    if target.count_changed:
        await target.count_changed(db, 1)
    await record_event(db, "comment.created", subject_type="comment", subject_id=comment.id,
                       actor_id=author.id if author is not None else None, space_id=target.space_id,
                       data={"commentable_type": commentable_type, "commentable_id": commentable_id,
                             "parent_id": parent_id})
    return comment


async def edit_comment(db, target: CommentTarget, comment: Comment, user, body, *,
                       remote_participant=None) -> Comment:
    """`remote_participant`: the partner node's resident who wrote it, editing from their node
    (node.cohosting.edits_host), with `user` None: the same rules hold."""
    if not can_edit(user, comment, remote_participant):
        raise CommentError(403, N_("Only the author of a comment can edit it."), code="not_author")
    _check_open(target)
    body = clean_body(body)
    if body != comment.body:
        comment.body = body
        comment.edited_at = utcnow()
        await db.flush()
        await record_event(db, "comment.edited", subject_type="comment", subject_id=comment.id,
                           actor_id=user.id if user is not None else None, space_id=comment.space_id)
    return comment


async def delete_comment(db, target: CommentTarget, comment: Comment, user, *, remote_participant=None) -> Comment:
    if comment.deleted:
        return comment  # a second click on "Delete" changes nothing
    by_author = (comment.remote_participant_id == remote_participant.id if remote_participant is not None
                 else user is not None and comment.author_id == user.id)
    if not by_author and (remote_participant is not None or not can_delete(user, comment)):
        raise CommentError(403, N_("Only the author of a comment or a moderator can delete it."), code="not_author")
    comment.deleted_at = utcnow()
    comment.deleted_by_id = user.id if user is not None else None
    await db.flush()
    if target.count_changed:
        await target.count_changed(db, -1)
    await record_event(db, "comment.deleted", subject_type="comment", subject_id=comment.id,
                       actor_id=user.id if user is not None else None, space_id=comment.space_id,
                       data={"by_author": by_author})
    return comment


async def vote(db, target: CommentTarget, comment: Comment, user, value: int,
               seen: int | None = None) -> int:
    """Toggle the user's vote (+1/-1) and return the vote now stored (0 for none).

    `seen` is the vote the voter's page showed. The wanted result is computed from it, not from
    the stored vote, so a double click (two requests made from the same page) asks twice for the
    same result instead of voting and un-voting."""
    if value not in (1, -1):
        raise CommentError(422, N_("Vote up or down."))
    if comment.deleted:
        raise CommentError(422, N_("This comment was deleted; it cannot be voted on."))
    if comment.author_id == user.id:
        raise CommentError(403, N_("You cannot vote on your own comment."))
    _check_open(target)
    # Touching the row takes its lock (PostgreSQL) or the write lock (SQLite), so concurrent
    # votes on one comment run one after the other and the counters stay exact.
    await db.execute(update(Comment).where(Comment.id == comment.id)
                     .values(up_votes=Comment.up_votes).execution_options(synchronize_session=False))
    current = await db.scalar(select(CommentVote).where(
        CommentVote.comment_id == comment.id, CommentVote.user_id == user.id))
    stored = current.value if current else 0
    base = stored if seen is None else seen
    wanted = 0 if base == value else value
    if wanted == stored:
        return stored
    if current is None:
        db.add(CommentVote(comment_id=comment.id, user_id=user.id, value=wanted, created_at=utcnow()))
    elif wanted == 0:
        await db.delete(current)
    else:
        current.value = wanted
    await db.flush()
    up = int(wanted == 1) - int(stored == 1)
    down = int(wanted == -1) - int(stored == -1)
    await db.execute(update(Comment).where(Comment.id == comment.id)
                     .values(up_votes=Comment.up_votes + up, down_votes=Comment.down_votes + down)
                     .execution_options(synchronize_session=False))
    return wanted
