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
``participation_records``: the public evidence a recount starts from.

A ``Like`` without any attestation is a fediverse "favourite" (Mastodon's star on our Article),
not a participation: it is ignored, not answered.
"""
from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from federation.vocab import AS_CONTEXT, id_of, same_origin, types_of
from node.activitypub import uris
from node.activitypub.inbox import InboxContext, remote_actors
from node.appkeys import DB, SETTINGS
from node.cohosting.attestation import AttestationProblem, read_attestation
from node.cohosting.ledger import add_record, current_head, head_document
from node.cohosting.models import InformalSupport, ParticipationRecord, RemoteParticipant
from node.cohosting.reasons import REASONS
from node.cohosting.service import active_partner, required_authorisations
from node.db.base import utcnow
from node.spaces.models import Space

log = logging.getLogger("civicnode.cohosting")

ADMITTING_POLICIES = ("partners", "open")


class Refusal(Exception):
    def __init__(self, reason: str, detail: str = "", participant: RemoteParticipant | None = None):
        super().__init__(detail or reason)
        self.reason, self.detail, self.participant = reason, detail, participant


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


async def _verify_attestation(ctx: InboxContext, document: dict, node_uri: str) -> None:
    """The attestation's proof, made with an assertion key of the node's Application actor."""
    from federation.proofs import ProofError, verify_proof

    actors = remote_actors(ctx.app)
    fresh = False
    for _ in range(2):  # the cached actor, then once more fetched (the node may have rotated keys)
        try:
            resolved = await actors.resolve(node_uri, fresh)
        except Exception as exc:  # unreachable, not an actor: the attestation cannot be checked
            raise Refusal("attestation_forged", f"the node actor {node_uri} is unavailable: {exc}") from None
        node = resolved.actor
        if node.kind != "Application":
            raise Refusal("attestation_forged", f"{node_uri} is a {node.kind}, not a node")
        try:
            method = verify_proof(document, lambda m: node.multikeys.get(m))
        except ProofError as exc:
            if resolved.fresh:
                raise Refusal("attestation_forged", exc.reason) from None
            fresh = True
            continue
        if not same_origin(method, node_uri):
            raise Refusal("attestation_forged", f"{method} is not a key of {node_uri}")
        return
    raise Refusal("attestation_forged", "the attestation's proof does not verify")


def _context_with_proofs() -> list:
    from federation.vocab import DATA_INTEGRITY_V2, default_context

    context = default_context()
    context.insert(1, DATA_INTEGRITY_V2)
    return context


def _answer(group: str, kind: str, activity: dict, reason: str | None) -> dict:
    answer = {"@context": AS_CONTEXT, "type": kind, "actor": group,
              "id": f"{group}#{kind.lower()}-{hashlib.sha256(activity['id'].encode()).hexdigest()[:24]}",
              "object": {"id": activity["id"], "type": types_of(activity)[0], "actor": activity["actor"],
                         "object": activity.get("object") if isinstance(activity.get("object"), str)
                         else id_of(activity.get("object"))},
              "to": [activity["actor"]]}
    if reason:
        from federation.vocab import default_context

        answer["@context"] = default_context()
        answer["reason"] = reason
        answer["summary"] = REASONS.get(reason, reason)  # English; the home node shows its own words
    return answer


async def _participant(db, actor_uri: str, node_uri: str) -> RemoteParticipant:
    found = await db.scalar(select(RemoteParticipant).where(RemoteParticipant.actor_uri == actor_uri))
    if found is not None:
        return found
    try:
        async with db.begin_nested():
            found = RemoteParticipant(actor_uri=actor_uri, home_node_uri=node_uri,
                                      home_host=urlsplit(actor_uri).netloc.lower()[:255])
            db.add(found)
    except IntegrityError:  # the same resident's other activity, in a concurrent transaction
        found = await db.scalar(select(RemoteParticipant).where(RemoteParticipant.actor_uri == actor_uri))
    return found


async def _eligible(ctx: InboxContext, db, space: Space, group: str, activity: dict, actor,
                    now) -> tuple[RemoteParticipant, bool]:
    """(the participant, informal) once the attestation and the partnership hold (else Refusal).
    Informal: an ``open`` space's follower whose node is not a partner, counted apart."""
    try:
        attestation, document = read_attestation(activity, space=group, now=now)
    except AttestationProblem as problem:
        raise Refusal(problem.reason, problem.detail) from None
    await _verify_attestation(ctx, document, attestation.node)
    participant = await _participant(db, actor.id, attestation.node)
    partner = await active_partner(db, space.id, attestation.node)
    if partner is None and space.federation_policy == "open":
        return participant, True
    if space.federation_policy not in ADMITTING_POLICIES or partner is None:
        raise Refusal("not_partner", f"{attestation.node} is not an active partner of {group}", participant)
    required = required_authorisations(partner.conditions)
    if required and attestation.authorisation not in required:
        raise Refusal("not_eligible", f"{attestation.authorisation!r} is not one of {required}", participant)
    return participant, False


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
    from node.activitypub.outbox import enqueue
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
    now = utcnow()
    signing = await node_signing_key(ctx.app)  # before the transaction: it may need its own
    async with ctx.app[DB].begin() as db:
        space = await db.scalar(select(Space).where(Space.slug == slug))
        if space is None or not space.published:
            return
        group = uris.space_actor(base, slug)
        reason, participant, informal = None, None, False
        try:
            if "proof" not in activity:
                raise Refusal("unsigned", "the activity has no FEP-8b32 proof of its author")
            if kind == "support":
                participant, informal = await _eligible(ctx, db, space, group, activity, actor, now)
            else:  # withdrawing a support given earlier is never restricted, as for local residents
                participant = await db.scalar(select(RemoteParticipant)
                                              .where(RemoteParticipant.actor_uri == actor.id))
                if participant is None:
                    raise Refusal("not_supported")
                informal = await db.scalar(select(InformalSupport.id).where(
                    InformalSupport.participant_id == participant.id,
                    InformalSupport.proposal_id == proposal_id)) is not None
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
        except Refusal as refusal:
            reason = refusal.reason
            log.info("refused %s %s: %s", kind, activity["id"], refusal.detail or refusal.reason)
            participant = refusal.participant
        if participant is not None:
            # Refusals before the attestation held are answered but not kept: the record would
            # name a resident their node did not vouch for.
            await add_record(db, ParticipationRecord(
                space_id=space.id, participant_id=participant.id, actor_uri=actor.id, kind=kind,
                object_uri=object_uri, activity_id=activity["id"], activity=activity,
                answer="rejected" if reason else "accepted", reason=reason, informal=informal, received_at=now))
        answer = _answer(group, "Reject" if reason else "Accept", activity, reason)
        # The chain's signed head goes with the answer: the resident's node keeps it, a witness
        # that this history was published (node.cohosting.ledger).
        answer["@context"] = _context_with_proofs()
        answer["recordsHead"] = head_document(base, slug, *await current_head(db, space.id), signing)
        await enqueue(db, actor_type="space", actor_id=space.id, activity=answer, inboxes=[actor.inbox])
