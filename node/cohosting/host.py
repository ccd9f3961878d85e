"""Host side of remote participation: a partner node's resident supports (``Like``) or stops
supporting (``Undo`` of the Like) a proposal of a co-hosted space.

Checks, in order (each refusal is answered with a ``Reject`` whose ``reason`` is a REASONS code):
the object is one of our proposals, in a published space that admits partners; the activity
carries the resident's own FEP-8b32 proof (the inbox pipeline verified it: the proof decides
authorship) so that it stays evidence; the attestation is for this space, unexpired, made by
the resident's own node and signed with one of that node's assertion keys; that node is an
active partner of the space and vouched for an authorisation the partnership asks for; then the
component's own rules (phase, limits, one support per person) by node.components.proposals.supports,
the same code local supports go through. Every answered activity is kept, as received, in
``participation_records``: the public evidence a recount starts from (the checks' head and the
answer are node.cohosting.answer's, shared with the other host handlers).

A ``Like`` without any attestation is a fediverse "favourite" (Mastodon's star on our Article),
not a participation: it is ignored, not answered.
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from federation.vocab import id_of, types_of
from node.activitypub import uris
from node.activitypub.inbox import InboxContext
from node.appkeys import DB, SETTINGS
from node.cohosting.answer import Outcome, Refusal, answer, eligible, published_space, refusals, signed
from node.cohosting.models import InformalSupport, RemoteParticipant
from node.db.base import utcnow


def local_proposal(base_url: str, uri: str | None) -> tuple[str, int] | None:
    """(space slug, proposal id) when ``uri`` is one of this node's proposal ids."""
    prefix = f"{base_url}/spaces/"
    if not uri or not uri.startswith(prefix):
        return None
    parts = uri[len(prefix):].split("/")
    if len(parts) != 3 or parts[1] != "proposals" or not parts[2].isdigit() or not parts[0]:
        return None
    return parts[0], int(parts[2])


def _support_reason(exc) -> str:
    """The REASONS code of a refusal by node.components.proposals.supports."""
    from node.components.proposals import supports

    message = exc.errors.get("_")
    message = message[0] if isinstance(message, tuple) else message
    if message == supports.ALREADY:
        return "already_supported"
    if message == "You do not support this proposal.":
        return "not_supported"
    if message == "This proposal does not exist.":
        return "not_found"
    if "frozen" in (message or ""):
        return "proposal_closed"
    if "all your" in (message or ""):
        return "limit_reached"
    return "supports_closed"


async def _informal(db, proposal_id: int, participant: RemoteParticipant, phase_id, kind: str) -> None:
    """An informal support, or its withdrawal: the phase rules hold, not the per-person limits
    (which are about the official count)."""
    from node.components.proposals import supports
    from node.components.proposals.service import refuse

    await supports._checked(db, proposal_id, phase_id)  # open, not withdrawn, not rejected
    mine = (InformalSupport.proposal_id == proposal_id, InformalSupport.participant_id == participant.id)
    if kind == "support":
        if await db.scalar(select(InformalSupport.id).where(*mine)) is not None:
            raise refuse(supports.ALREADY, 409)
        db.add(InformalSupport(proposal_id=proposal_id, participant_id=participant.id))
        try:
            await db.flush()
        except IntegrityError:
            raise refuse(supports.ALREADY, 409) from None
    elif (await db.execute(delete(InformalSupport).where(*mine))).rowcount == 0:
        raise refuse("You do not support this proposal.", 409)


async def on_like(ctx: InboxContext, activity: dict, actor) -> None:
    if "attestation" not in activity:
        return  # a favourite, not a participation
    await _participation(ctx, activity, actor, "support", activity)


async def on_undo(ctx: InboxContext, activity: dict, actor) -> None:
    undone = activity.get("object")
    if not isinstance(undone, dict) or "Like" not in types_of(undone) or "attestation" not in undone:
        return  # the Undo of something else (a Follow: node.activitypub.follows), or of a favourite
    if id_of(undone.get("actor")) != actor.id:
        return
    await _participation(ctx, activity, actor, "withdrawal", undone)


async def _participation(ctx: InboxContext, activity: dict, actor, kind: str, like: dict) -> None:
    from node.cohosting.records import node_signing_key
    from node.components.proposals import supports
    from node.components.proposals.common import active_phase_id
    from node.components.proposals.models import Proposal
    from node.components.proposals.service import ProposalError

    base = ctx.app[SETTINGS].base_url
    object_uri = id_of(like.get("object"))
    target = local_proposal(base, object_uri)
    if target is None:
        return  # not about one of our proposals: not ours to answer
    slug, proposal_id = target
    # The key is read before the transaction: it may need its own.
    now, signing = utcnow(), await node_signing_key(ctx.app)
    async with ctx.app[DB].begin() as db:
        space = await published_space(db, slug)
        if space is None:
            return
        group = uris.space_actor(base, slug)
        outcome = Outcome()
        with refusals(outcome, kind, activity):
            signed(activity)
            if kind == "support":
                outcome.participant, outcome.informal = await eligible(ctx, db, space, group, activity, actor, now)
            else:  # withdrawing a support given earlier is never restricted, as for local residents
                outcome.participant = await db.scalar(select(RemoteParticipant)
                                                      .where(RemoteParticipant.actor_uri == actor.id))
                if outcome.participant is None:
                    raise Refusal("not_supported")
                outcome.informal = await db.scalar(select(InformalSupport.id).where(
                    InformalSupport.participant_id == outcome.participant.id,
                    InformalSupport.proposal_id == proposal_id)) is not None
            participant, informal = outcome.participant, outcome.informal
            proposal = await db.get(Proposal, proposal_id)
            if proposal is None or proposal.space_id != space.id:
                raise Refusal("not_found", "", participant)
            phase_id = await active_phase_id(db, space.id)
            try:
                async with db.begin_nested():
                    if informal:
                        await _informal(db, proposal.id, participant, phase_id, kind)
                    elif kind == "support":
                        await supports.add_support(db, proposal.id, participant, phase_id)
                    else:
                        await supports.remove_support(db, proposal.id, participant, phase_id)
            except ProposalError as exc:
                raise Refusal(_support_reason(exc), str(exc), participant) from None
            if proposal.origin_uri:
                from node.cohosting.shared import report_to_origin

                await report_to_origin(db, base, proposal.id)
        await answer(ctx, db, space, actor, activity, outcome, kind=kind, object_uri=object_uri, now=now,
                     signing=signing)
