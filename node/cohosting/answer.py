"""What every host handler of remote participation shares (node.cohosting.host, comments_host,
proposals_host, ballots_host, edits_host): the head of the checks — the resident's own proof, the
object being theirs, their node's attestation and the partnership — and the tail — the activity
kept in the space's hash-chained records, the Accept or Reject with its reason and the signed
head of the records, sent to the resident's inbox.

A handler runs its own rules inside ``with refusals(outcome, what, activity):``; a Refusal raised
there becomes the outcome's reason, and ``answer`` does the rest in the same transaction.
"""
from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from federation.vocab import AS_CONTEXT, id_of, same_origin, types_of
from node.activitypub.inbox import InboxContext, remote_actors
from node.appkeys import SETTINGS
from node.cohosting.attestation import AttestationProblem, read_attestation
from node.cohosting.ledger import add_record, current_head, head_document
from node.cohosting.models import ParticipationRecord, RemoteParticipant
from node.cohosting.reasons import REASONS
from node.cohosting.service import active_partner, required_authorisations
from node.spaces.models import Space

log = logging.getLogger("civicnode.cohosting")

ADMITTING_POLICIES = ("partners", "open")


class Refusal(Exception):
    def __init__(self, reason: str, detail: str = "", participant: RemoteParticipant | None = None):
        super().__init__(detail or reason)
        self.reason, self.detail, self.participant = reason, detail, participant


@dataclass
class Outcome:
    """What a handler made of an activity: the refusal's reason (None: accepted), the resident
    once their node's attestation held (else None: nothing is recorded), and what was made."""
    reason: str | None = None
    participant: RemoteParticipant | None = None
    informal: bool = False
    result: str | None = None


@contextmanager
def refusals(outcome: Outcome, what: str, activity: dict):
    try:
        yield outcome
    except Refusal as refusal:
        outcome.reason, outcome.participant = refusal.reason, refusal.participant
        log.info("refused %s %s: %s", what, activity["id"], refusal.detail or refusal.reason)


async def verify_attestation(ctx: InboxContext, document: dict, node_uri: str) -> None:
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


async def participant_of(db, actor_uri: str, node_uri: str) -> RemoteParticipant:
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


async def eligible(ctx: InboxContext, db, space: Space, group: str, activity: dict, actor,
                   now: datetime, *, partnership: bool = True) -> tuple[RemoteParticipant, bool]:
    """(the participant, informal) once the attestation and the partnership hold (else Refusal).
    Informal: an ``open`` space's follower whose node is not a partner, counted apart.
    ``partnership`` False: the attestation alone (what a resident may always do, like deleting
    their own words, does not depend on the partnership still being active)."""
    try:
        attestation, document = read_attestation(activity, space=group, now=now)
    except AttestationProblem as problem:
        raise Refusal(problem.reason, problem.detail) from None
    await verify_attestation(ctx, document, attestation.node)
    participant = await participant_of(db, actor.id, attestation.node)
    if not partnership:
        return participant, False
    partner = await active_partner(db, space.id, attestation.node)
    if partner is None and space.federation_policy == "open":
        return participant, True
    if space.federation_policy not in ADMITTING_POLICIES or partner is None:
        raise Refusal("not_partner", f"{attestation.node} is not an active partner of {group}", participant)
    required = required_authorisations(partner.conditions)
    if required and attestation.authorisation not in required:
        raise Refusal("not_eligible", f"{attestation.authorisation!r} is not one of {required}", participant)
    return participant, False


def signed(activity: dict) -> None:
    """The activity carries its author's FEP-8b32 proof (the inbox pipeline verified it: the proof
    decides authorship), so that it stays evidence once the HTTP request is gone."""
    if "proof" not in activity:
        raise Refusal("unsigned", "the activity has no FEP-8b32 proof of its author")


def named(participant: RemoteParticipant, actor) -> None:
    """Their name as their actor document gives it now (shown with their comments and proposals)."""
    name = (actor.name or actor.preferred_username or "").strip()
    if name and participant.display_name != name[:255]:
        participant.display_name = name[:255]


async def attested(ctx: InboxContext, db, space: Space, activity: dict, actor, now: datetime, outcome: Outcome, *,
                   obj: dict, refused: str, name: bool = False) -> RemoteParticipant:
    """The head of the checks of a Create (or Update) of the resident's own object: signed, the
    object attributed to the activity's actor (else ``refused``), then ``eligible``; the
    participant and whether they count informally go into ``outcome``. ``name``: keep their
    name as their actor gives it (it is shown with what they write)."""
    from node.activitypub import uris

    signed(activity)
    if id_of(obj.get("attributedTo")) != actor.id:
        raise Refusal(refused, f"the {types_of(obj)[0]} is not attributed to the activity's actor")
    group = uris.space_actor(ctx.app[SETTINGS].base_url, space.slug)
    outcome.participant, outcome.informal = await eligible(ctx, db, space, group, activity, actor, now)
    if name:
        named(outcome.participant, actor)
    return outcome.participant


async def published_space(db, slug: str) -> Space | None:
    space = await db.scalar(select(Space).where(Space.slug == slug))
    return space if space is not None and space.published else None


def context_with_proofs() -> list:
    from federation.vocab import DATA_INTEGRITY_V2, default_context

    context = default_context()
    context.insert(1, DATA_INTEGRITY_V2)
    return context


def answer_document(group: str, kind: str, activity: dict, reason: str | None) -> dict:
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


async def answer(ctx: InboxContext, db, space: Space, actor, activity: dict, outcome: Outcome, *, kind: str,
                 object_uri: str, now: datetime, signing: tuple[str, str], record: dict | None = None,
                 extra: dict | None = None) -> None:
    """Keep the activity in the space's records (``record``: what is published of it, when not the
    activity as received), and send the resident the Accept or Reject with the records' head."""
    from node.activitypub import uris
    from node.activitypub.outbox import enqueue

    base = ctx.app[SETTINGS].base_url
    group = uris.space_actor(base, space.slug)
    reason = outcome.reason
    if outcome.participant is not None:
        # Refusals before the attestation held are answered but not kept: the record would
        # name a resident their node did not vouch for.
        await add_record(db, ParticipationRecord(
            space_id=space.id, participant_id=outcome.participant.id, actor_uri=actor.id, kind=kind,
            object_uri=object_uri, activity_id=activity["id"], activity=activity if record is None else record,
            answer="rejected" if reason else "accepted", reason=reason, informal=outcome.informal,
            received_at=now))
    document = answer_document(group, "Reject" if reason else "Accept", activity, reason)
    if outcome.result is not None:
        document["result"] = outcome.result
    document.update(extra or {})
    # The chain's signed head goes with the answer: the resident's node keeps it, a witness that
    # this history was published (node.cohosting.ledger).
    document["@context"] = context_with_proofs()
    document["recordsHead"] = head_document(base, space.slug, *await current_head(db, space.id), signing)
    await enqueue(db, actor_type="space", actor_id=space.id, activity=document, inboxes=[actor.inbox])
