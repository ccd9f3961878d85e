"""Home side of remote participation: a resident of this node supports a proposal of a space this
node co-hosts, from the space's mirror here; the host answers Accept or Reject.

The home node checks the resident's authorisations against what the partnership asks for, then
sends a ``Like`` signed by the resident (HTTP signature and FEP-8b32 proof) carrying an
eligibility attestation signed by this node (node.cohosting.attestation). What was sent and the
host's answer are kept in ``outgoing_participations`` so the resident sees it on their own node.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from federation.vocab import DATA_INTEGRITY_V2, id_of, same_origin
from node.activitypub import uris
from node.activitypub.follow_models import RemoteItem, RemoteSpace
from node.activitypub.inbox import InboxContext
from node.appkeys import DB, SETTINGS
from node.cohosting.attestation import unsigned_attestation
from node.cohosting.models import OutgoingParticipation
from node.cohosting.service import active_partnership, required_authorisations
from node.db.base import utcnow
from node.i18n import N_


class ParticipationError(Exception):
    """Refused on this node, before anything is sent: a msgid with %(…)s ``values``."""

    def __init__(self, message: str, status: int = 403, **values: Any):
        super().__init__(message % values if values else message)
        self.message, self.status, self.values = message, status, values


NOT_RESIDENT = N_("This budget is for residents of these postal codes only: %(codes)s. None of your "
                  "verifications on this node holds one of them.")


def _context() -> list:
    from federation.vocab import default_context

    context = default_context()
    context.insert(1, DATA_INTEGRITY_V2)
    return context


async def latest(db, user_id: int, object_uri: str) -> OutgoingParticipation | None:
    """The resident's newest support or withdrawal about ``object_uri``: what their page shows
    (their comments are listed apart: node.cohosting.comments_home)."""
    return await db.scalar(select(OutgoingParticipation)
                           .where(OutgoingParticipation.user_id == user_id,
                                  OutgoingParticipation.object_uri == object_uri,
                                  OutgoingParticipation.kind.in_(("support", "withdrawal")))
                           .order_by(OutgoingParticipation.id.desc()).limit(1))


def supports_now(row: OutgoingParticipation | None) -> bool:
    """Whether the resident's support stands (sent or counted), as far as this node knows."""
    if row is None:
        return False
    if row.kind == "support":
        return row.answer != "rejected"
    return row.answer == "rejected"  # a refused withdrawal leaves the support in place


async def _signed(db, owner_type: str, owner_id: int, actor_uri: str, document: dict) -> dict:
    from federation.proofs import create_proof
    from node.keystore import ensure_keys, verification_method

    key = await ensure_keys(db, owner_type, owner_id)
    return create_proof(document, key.ed25519_seed_hex, await verification_method(actor_uri, key, db))


def holding_code(held: dict, codes) -> list:
    """The active authorisations among ``held`` whose postal code is one of ``codes`` (what
    node.components.budgets.service.postal_code_allowed reads for the node's own budgets)."""
    from node.permissions.rules import postal_key

    wanted = {postal_key(c) for c in codes}
    return [a for a in held.values() if postal_key((a.details or {}).get("postal_code")) in wanted]


async def _attestation(db, base: str, user, space_uri: str, conditions: dict,
                       residence: tuple[str, list[str]] | None = None) -> dict:
    """This node's signed attestation for ``user`` in ``space_uri``. ``residence``: (budget URI,
    its postal codes) when the budget is restricted: the attestation then says the resident lives
    in one of them (``residesIn``), without saying which."""
    from node.cohosting.attestation import residence_claim
    from node.verification.service import HANDLER_LABELS, active_authorisations

    now = utcnow()
    held = await active_authorisations(db, user.id, now)
    required = required_authorisations(conditions)
    chosen = next((held[name] for name in required if name in held), None)
    if required and chosen is None:
        labels = ", ".join(HANDLER_LABELS.get(name, name) for name in required)
        raise ParticipationError(N_("To take part in this consultation, get one of these verifications on your "
                                    "account page first: %(what)s."), what=labels)
    expiries = [chosen.expires_at] if chosen is not None else []
    claim = None
    if residence is not None:
        budget, codes = residence
        holding = holding_code(held, codes)
        if not holding:
            raise ParticipationError(NOT_RESIDENT, codes=", ".join(codes))
        # The claim holds as long as a verification with the code does.
        expiries.append(max(holding, key=lambda a: (a.expires_at is None, a.expires_at or now)).expires_at)
        claim = residence_claim(budget, codes)
    expiries = [e for e in expiries if e is not None]
    node_actor = uris.node_actor(base)
    document = unsigned_attestation(node_actor=node_actor, resident=uris.user_actor(base, user.username),
                                    space=space_uri, authorisation=chosen.handler if chosen else None, now=now,
                                    valid_until=min(expiries) if expiries else None, resides_in=claim)
    return await _signed(db, "node", 0, node_actor, document)


async def participate(app, user, space_id: int, item_id: int, kind: str) -> OutgoingParticipation:
    """Send the resident's support ("support") of a mirrored proposal, or its withdrawal
    ("withdrawal"). Raises ParticipationError when this node refuses before sending."""
    from node.activitypub.outbox import enqueue

    base = app[SETTINGS].base_url
    async with app[DB].begin() as db:
        row = (await db.execute(select(RemoteItem, RemoteSpace).join(RemoteSpace)
                                .where(RemoteItem.id == item_id, RemoteSpace.id == space_id))).first()
        if row is None or row[0].kind != "proposal" or row[0].deleted_at is not None:
            raise ParticipationError(N_("Nothing from another node has this address here."), 404)
        item, space = row
        partnership = await active_partnership(db, space.uri)
        # An ``open`` space counts any follower's support, apart ("informal"), without conditions.
        conditions = partnership.conditions if partnership is not None else {}
        if partnership is None and space.federation_policy != "open":
            raise ParticipationError(N_("This node is not a partner of this consultation: you can read it here, "
                                        "but take part only on its own node."))
        previous = await latest(db, user.id, item.uri)
        person = uris.user_actor(base, user.username)
        if kind == "support":
            if supports_now(previous):
                raise ParticipationError(N_("You already support this proposal."), 409)
            activity = {"@context": _context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Like",
                        "actor": person, "object": item.uri, "audience": space.uri, "to": [space.uri],
                        "published": utcnow().isoformat().replace("+00:00", "Z"),
                        "attestation": await _attestation(db, base, user, space.uri, conditions)}
        else:
            if not supports_now(previous) or previous.kind != "support":
                raise ParticipationError(N_("You do not support this proposal."), 409)
            support = dict(previous.activity)
            support.pop("@context", None)
            activity = {"@context": _context(), "id": f"{support['id']}/undo", "type": "Undo", "actor": person,
                        "object": support, "to": [space.uri]}
        activity = await _signed(db, "user", user.id, person, activity)
        sent = OutgoingParticipation(user_id=user.id, space_uri=space.uri, object_uri=item.uri, kind=kind,
                                     activity_id=activity["id"], activity=activity)
        db.add(sent)
        await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[space.inbox])
    return sent


async def _answered(ctx: InboxContext, activity: dict, actor, answer: str) -> None:
    sent_id = id_of(activity.get("object"))
    if not sent_id:
        return
    async with ctx.app[DB].begin() as db:
        sent = await db.scalar(select(OutgoingParticipation).where(OutgoingParticipation.activity_id == sent_id))
        if sent is None or sent.space_uri != actor.id:
            return  # not ours, or answered by another actor than the space it was sent to
        reason = activity.get("reason") if answer == "rejected" else None
        summary = activity.get("summary") if answer == "rejected" else None
        sent.answer, sent.answered_at = answer, utcnow()
        sent.reason = reason[:64] if isinstance(reason, str) else None
        sent.reason_text = summary[:500] if isinstance(summary, str) else None
        result = id_of(activity.get("result")) if answer == "accepted" else None
        if result and same_origin(result, actor.id):  # what the host made of it (a comment's id)
            sent.result_uri = result[:2048]
        await witness_head(db, actor.id, activity.get("recordsHead"))


async def witness_head(db, space_uri: str, head) -> None:
    """Keep the host's signed head of its records, as a witness (node.cohosting.ledger). Its proof
    is checked by whoever uses it (``civicnode recount --witness``), against the host's key."""
    from node.cohosting.models import WitnessedHead

    if not isinstance(head, dict) or head.get("space") != space_uri or not isinstance(head.get("proof"), dict):
        return
    size, chain_hash = head.get("totalItems"), head.get("chainHash")
    if not isinstance(size, int) or size < 0 or not isinstance(chain_hash, str) or len(chain_hash) != 64:
        return
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    # Two answers may carry the same head: the second is not an error.
    await db.execute(insert(WitnessedHead).values(space_uri=space_uri, size=size, chain_hash=chain_hash,
                                                  document=head, received_at=utcnow())
                     .on_conflict_do_nothing(index_elements=["space_uri", "size", "chain_hash"]))


async def on_accept(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "accepted")


async def on_reject(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "rejected")

