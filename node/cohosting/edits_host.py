"""Host side of a partner node's resident changing what they wrote here from their own node: an
``Update`` of their Note (a comment) or Article (a proposal), or a ``Delete`` of it.

The object is named by its id at their node — the id of the Note or Article their ``Create``
carried, same origin as their actor (the inbox refuses an embedded object of another origin) —
which this node remembered when it published it (``remote_originals``). Only activities that
carry an ``attestation`` are dispatched here (node.cohosting.routes): a fediverse Update or Delete
of someone's post is none of these handlers' business, and an attested one about an object this
node never had, in no space of ours, is not answered.

Checks, in order (each refusal is a ``Reject`` whose ``reason`` is a REASONS code): the
resident's own proof (``unsigned``); for an Update, the object attributed to them; their node's
attestation (node.cohosting.answer.eligible: for an Update the partnership too, as for a Create;
deleting one's own words never depends on it, like withdrawing a support); the object is one
this node published (``not_published_here``) and theirs (``not_author``: the actor stored at its
creation); then the rules local authors have, by the same code:
- a comment (node.components.comments.service): edited while comments are open, marked
  "edited"; deleted, leaving its place in the thread ("Comment deleted"), published as a
  Tombstone; ``comment_gone`` once deleted;
- a proposal (node.components.proposals.service): edited within the component's edit window
  (``edit_window_closed``) while not answered (``proposal_answered``), as a new version with a
  new fingerprint; a Delete withdraws it, as its local authors can (a proposal is never erased:
  supports and comments refer to it).
The activity is kept, as received, in the space's records (kinds: CHANGE_KINDS); the answer
names the changed object (``result``); the space's followers receive the Update or Delete.
"""
from __future__ import annotations

from sqlalchemy import select

from federation.vocab import id_of, types_of
from node.activitypub.inbox import InboxContext
from node.appkeys import DB, SETTINGS
from node.cohosting.answer import Outcome, Refusal, answer, attested, eligible, published_space, refusals, signed
from node.cohosting.models import RemoteOriginal
from node.db.base import utcnow
from node.spaces.models import Space

# Record kind of each change: (what the object became here, activity type) -> kind.
CHANGE_KINDS = {("comment", "Update"): "comment_edit", ("comment", "Delete"): "comment_delete",
                ("proposal", "Update"): "proposal_edit", ("proposal", "Delete"): "proposal_withdraw"}
OBJECT_TYPES = {"Note": "comment", "Article": "proposal"}


def remember(db, obj: dict, participant, space: Space, *, comment_id: int | None = None,
                   proposal_id: int | None = None) -> None:
    """Keep which comment or proposal the resident's Note or Article became (their Create was
    accepted): what their later Update or Delete names."""
    object_uri = id_of(obj)
    if object_uri:
        db.add(RemoteOriginal(object_uri=object_uri, participant_id=participant.id, space_id=space.id,
                              comment_id=comment_id, proposal_id=proposal_id))


async def known(db, obj: dict) -> bool:
    """Whether the Note or Article of a Create is one this node published already (its id is
    taken: a Create names a new object)."""
    object_uri = id_of(obj)
    return bool(object_uri) and await db.scalar(
        select(RemoteOriginal.id).where(RemoteOriginal.object_uri == object_uri)) is not None


async def on_update(ctx: InboxContext, activity: dict, actor) -> None:
    obj = activity.get("object")
    if not isinstance(obj, dict) or not set(types_of(obj)) & set(OBJECT_TYPES):
        return
    await _change(ctx, activity, actor, "Update", obj)


async def on_delete(ctx: InboxContext, activity: dict, actor) -> None:
    await _change(ctx, activity, actor, "Delete", activity.get("object"))


async def _target(db, base: str, activity: dict, object_uri: str | None) -> tuple[RemoteOriginal | None, Space] | None:
    """(what the object became here, or None, and its space) when the object is one of ours or
    the activity is addressed to one of our published spaces; None: not ours to answer."""
    from node.activitypub.follows import local_space_slug

    original = await db.scalar(select(RemoteOriginal).where(RemoteOriginal.object_uri == object_uri)) \
        if object_uri else None
    if original is not None:
        space = await db.get(Space, original.space_id)
        return (original, space) if space is not None and space.published else None
    slug = local_space_slug(base, id_of(activity.get("audience")))
    space = await published_space(db, slug) if slug else None
    return (None, space) if space is not None else None


async def _change(ctx: InboxContext, activity: dict, actor, verb: str, obj) -> None:
    from node.activitypub import uris
    from node.cohosting.records import node_signing_key

    base = ctx.app[SETTINGS].base_url
    object_uri = id_of(obj)
    async with ctx.app[DB]() as db:
        if await _target(db, base, activity, object_uri) is None:
            return
    # The key is read before the transaction: it may need its own.
    now, signing = utcnow(), await node_signing_key(ctx.app)
    async with ctx.app[DB].begin() as db:
        found = await _target(db, base, activity, object_uri)
        if found is None:
            return
        original, space = found
        what = _what(original, obj)
        kind = CHANGE_KINDS[(what, verb)]
        outcome = Outcome()
        with refusals(outcome, kind, activity):
            if verb == "Update":
                participant = await attested(ctx, db, space, activity, actor, now, outcome, obj=obj,
                                             refused=f"{what}_refused", name=True)
            else:
                signed(activity)
                group = uris.space_actor(base, space.slug)
                outcome.participant, outcome.informal = await eligible(ctx, db, space, group, activity, actor, now,
                                                                       partnership=False)
                participant = outcome.participant
            if original is None:
                raise Refusal("not_published_here", f"no comment or proposal here was {object_uri}", participant)
            if original.participant_id != participant.id:
                raise Refusal("not_author", f"{object_uri} is not {actor.id}'s", participant)
            if verb == "Update" and _what(None, obj) != what:
                raise Refusal(f"{what}_refused", f"{object_uri} became a {what} here, not a {types_of(obj)[0]}",
                              participant)
            if what == "comment":
                outcome.result = await _comment(db, base, original, participant, verb, obj)
            else:
                outcome.result = await _proposal(db, base, space, original, participant, verb, obj)
        await answer(ctx, db, space, actor, activity, outcome, kind=kind,
                     object_uri=outcome.result or _object_url(base, space, original), now=now, signing=signing)


def _what(original: RemoteOriginal | None, obj) -> str:
    if original is not None:
        return "proposal" if original.proposal_id else "comment"
    return "proposal" if isinstance(obj, dict) and "Article" in types_of(obj) else "comment"


def _object_url(base: str, space: Space, original: RemoteOriginal | None) -> str:
    from node.activitypub import uris
    from node.components.comments.activities import comment_id
    from node.components.proposals.activities import proposal_url

    if original is None:
        return uris.space_actor(base, space.slug)
    if original.proposal_id:
        return proposal_url(base, space.slug, original.proposal_id)
    return comment_id(base, original.comment_id)


async def _comment(db, base: str, original: RemoteOriginal, participant, verb: str, obj) -> str:
    from node.cohosting.comments_host import COMMENT_REASONS, comment_text
    from node.components.comments.activities import comment_id
    from node.components.comments.models import Comment
    from node.components.comments.registry import load_target
    from node.components.comments.service import CommentError, delete_comment, edit_comment

    comment = await db.get(Comment, original.comment_id)
    if comment is None or comment.deleted:
        raise Refusal("comment_gone", "", participant)
    target = await load_target(db, comment.commentable_type, comment.commentable_id)
    if target is None:
        raise Refusal("not_found", "", participant)
    try:
        async with db.begin_nested():
            if verb == "Update":
                try:
                    body = comment_text(obj)
                except ValueError as exc:
                    raise Refusal("comment_refused", str(exc), participant) from None
                await edit_comment(db, target, comment, None, body, remote_participant=participant)
            else:
                await delete_comment(db, target, comment, None, remote_participant=participant)
    except CommentError as exc:
        reason = "not_author" if exc.code == "not_author" else COMMENT_REASONS.get(exc.code, "comment_refused")
        raise Refusal(reason, str(exc), participant) from None
    return comment_id(base, comment.id)


async def _proposal(db, base: str, space: Space, original: RemoteOriginal, participant, verb: str, obj) -> str:
    from node.cohosting.proposals_host import article_text, proposal_reason
    from node.components.proposals import service
    from node.components.proposals.activities import proposal_url
    from node.components.proposals.models import Proposal
    from node.spaces.models import Component

    proposal = await db.get(Proposal, original.proposal_id)
    if proposal is None:
        raise Refusal("not_found", "", participant)
    try:
        async with db.begin_nested():
            if verb == "Update":
                try:
                    title, body = article_text(obj)
                except ValueError as exc:
                    raise Refusal("proposal_refused", str(exc), participant) from None
                component = await db.get(Component, proposal.component_id)
                await service.edit_proposal(db, proposal, space=space, component=component, user=None,
                                            values={"title": title, "body": body}, base_url=base,
                                            remote_participant=participant)
            else:
                await service.withdraw_proposal(db, proposal, user=None, remote_participant=participant)
    except service.ProposalError as exc:
        message = exc.errors.get("_")
        reason = {service.EDIT_TIME_OVER: "edit_window_closed", service.NOT_EDITABLE: "proposal_answered",
                  service.ALREADY_WITHDRAWN: "proposal_answered"}.get(message) if isinstance(message, str) else None
        if reason is None and message is not None and verb == "Delete":
            reason = "proposal_answered"  # answered: it cannot be withdrawn any more
        raise Refusal(reason or proposal_reason(exc), str(exc), participant) from None
    return proposal_url(base, space.slug, proposal.id)
