"""Host side of remote comments: a partner node's resident comments on a proposal of a co-hosted
space, or replies to a comment on one, from their own node (``Create{Note}``).

Only a Note that answers one of our proposals (``inReplyTo``: the proposal, or a comment on it),
in an activity that carries an ``attestation``, is a participation. Any other Create — an
ordinary fediverse reply to our Article has no attestation — is ignored, not answered.

Checks, in order (each refusal is answered with a ``Reject`` whose ``reason`` is a REASONS code):
the activity carries its author's FEP-8b32 proof (``unsigned``) and the Note is the actor's own
(``comment_refused``); the attestation and the partnership hold, exactly as for a support
(node.cohosting.answer.eligible); then the comments' own rules, by the code local comments go
through (node.components.comments.service.create_comment): comments open on the proposal
(``comments_closed``), the comment replied to still there (``reply_target_gone``), the depth of
replies (``reply_too_deep``), the text (``comment_refused``). An answered activity is kept, as
received, in the space's public records, like a support; the Accept names the new comment
(``result``), which the space's followers then receive like any comment (attributed to the
resident's actor, node.components.comments.publish).
"""
from __future__ import annotations


from sqlalchemy import select

from federation.vocab import id_of, types_of
from node.activitypub import uris
from node.activitypub.inbox import InboxContext
from node.appkeys import DB, SETTINGS
from node.cohosting.answer import Outcome, Refusal, answer, attested, refusals
from node.cohosting.host import local_proposal
from node.db.base import utcnow
from node.spaces.models import Space


# CommentError.code (node.components.comments.service) -> REASONS code.
COMMENT_REASONS = {"closed": "comments_closed", "hidden": "comments_closed", "parent_gone": "reply_target_gone",
                   "too_deep": "reply_too_deep"}
TEXT_TYPES = ("text/markdown", "text/plain")


def local_comment(base_url: str, uri: str | None) -> int | None:
    """The comment id when ``uri`` is one of this node's comment ids (``/comments/<n>``)."""
    prefix = f"{base_url}/comments/"
    if not uri or not uri.startswith(prefix):
        return None
    rest = uri[len(prefix):]
    return int(rest) if rest.isdigit() and 0 < int(rest) < 2**31 else None


async def commented(db, base_url: str, in_reply_to: str | None) -> tuple[Space, int, int | None] | None:
    """(space, proposal id, parent comment id or None) when ``in_reply_to`` is one of our
    proposals in a published space, or a comment on one; None otherwise."""
    from node.components.comments.models import Comment
    from node.components.proposals.models import Proposal

    parent_id, slug = None, None
    target = local_proposal(base_url, in_reply_to)
    if target is not None:
        slug, proposal_id = target
    else:
        parent_id = local_comment(base_url, in_reply_to)
        parent = await db.get(Comment, parent_id) if parent_id else None
        if parent is None or parent.commentable_type != "proposal":
            return None
        proposal_id = parent.commentable_id
    row = (await db.execute(select(Proposal.id, Space).join(Space, Space.id == Proposal.space_id)
                            .where(Proposal.id == proposal_id))).first()
    if row is None or not row[1].published or (slug is not None and row[1].slug != slug):
        return None
    return row[1], proposal_id, parent_id


def comment_text(note: dict) -> str:
    """The resident's words, as typed (the host renders them with its own sanitiser): the Note's
    markdown ``source``, or its ``content`` when that is plain text or markdown. HTML is refused
    rather than guessed at."""
    source = note.get("source")
    if isinstance(source, dict) and source.get("mediaType") in TEXT_TYPES and isinstance(source.get("content"), str):
        return source["content"]
    if note.get("mediaType") in TEXT_TYPES and isinstance(note.get("content"), str):
        return note["content"]
    raise ValueError("the Note carries no text/markdown or text/plain content")


async def on_create(ctx: InboxContext, activity: dict, actor) -> None:
    note = activity.get("object")
    if not isinstance(note, dict) or "Note" not in types_of(note) or "attestation" not in activity:
        return  # a post or an ordinary fediverse reply, not a participation
    from node.cohosting.edits_host import known, remember
    from node.cohosting.records import node_signing_key
    from node.components.comments.activities import comment_id
    from node.components.comments.registry import load_target
    from node.components.comments.service import CommentError, create_comment

    base = ctx.app[SETTINGS].base_url
    in_reply_to = id_of(note.get("inReplyTo"))
    now = utcnow()
    async with ctx.app[DB]() as db:
        if await commented(db, base, in_reply_to) is None:
            return  # not about one of our proposals: not ours to answer
    signing = await node_signing_key(ctx.app)  # before the transaction: it may need its own
    async with ctx.app[DB].begin() as db:
        found = await commented(db, base, in_reply_to)
        if found is None:
            return
        space, proposal_id, parent_id = found
        group = uris.space_actor(base, space.slug)
        outcome = Outcome()
        with refusals(outcome, "comment", activity):
            participant = await attested(ctx, db, space, activity, actor, now, outcome, obj=note,
                                         refused="comment_refused", name=True)
            try:
                body = comment_text(note)
            except ValueError as exc:
                raise Refusal("comment_refused", str(exc), participant) from None
            target = await load_target(db, "proposal", proposal_id)
            if target is None:
                raise Refusal("not_found", "", participant)
            if await known(db, note):
                raise Refusal("comment_refused", "a Note of this id was published here already", participant)
            alignment = note.get("alignment")
            try:
                async with db.begin_nested():
                    comment = await create_comment(
                        db, target, commentable_type="proposal", commentable_id=proposal_id, author=None,
                        remote_participant=participant, body=body, parent_id=parent_id,
                        alignment=alignment if isinstance(alignment, str) else None)
            except CommentError as exc:
                raise Refusal(COMMENT_REASONS.get(exc.code, "comment_refused"), str(exc), participant) from None
            remember(db, note, participant, space, comment_id=comment.id)  # for its Update or Delete
            outcome.result = comment_id(base, comment.id)
        await answer(ctx, db, space, actor, activity, outcome, kind="comment",
                     object_uri=f"{group}/proposals/{proposal_id}", now=now, signing=signing)
