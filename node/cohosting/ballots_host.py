"""Host side of remote ballots: a partner node's resident votes in a budget of a co-hosted space.

The activity (node.cohosting.ballots_home) is a ``Create`` whose object is a ``Ballot`` that
names the voter and the budget and carries the voter's own FEP-8b32 proof; the choices
(``selection``) and the receipt travel beside it, in the activity, covered by the activity's
proof and HTTP signature. A ballot is secret: what goes into the space's public records is the
activity without ``selection``, ``receipt`` and the activity's proof — who voted, in which budget,
signed by them and vouched for by their node — never what they chose; the choices are published
in the budget's ballot list under the receipt only (docs/BUDGETS.md, "Receipts").

Checks, in order (each refusal is a ``Reject`` whose ``reason`` is a REASONS code): both proofs
are there and the Ballot's verifies with a key of the actor (``unsigned``); the attestation and the
partnership, exactly as for a support (node.cohosting.answer.eligible; an ``open`` space's
non-partner has no informal ballot: ``not_partner``); a budget with postal codes takes the ballot
only if the attestation says the voter lives in one of them (``residesIn`` for this budget, its
codes all among the budget's codes now; without the claim ``postal_code_not_attested``, with
another ``budget_restricted``); the selection names projects of this budget and the
receipt is a SHA-256 not used yet (``ballot_invalid``); then the budget's own rules, by the code
local ballots go through (service.check_and_store_ballot): voting open (``voting_closed``), one
ballot per person (``already_voted``), the ballot kind's limits (``ballot_invalid``).
"""
from __future__ import annotations

import re

from sqlalchemy import select

from federation.vocab import id_of, types_of
from node.activitypub import uris
from node.activitypub.inbox import InboxContext
from node.appkeys import DB, SETTINGS
from node.cohosting.answer import Outcome, Refusal, answer, attested, refusals
from node.db.base import utcnow
from node.spaces.models import Space

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SECRET = ("selection", "receipt", "proof")  # left out of the public record


def local_budget(base_url: str, uri: str | None) -> tuple[str, int, int] | None:
    """(space slug, component id, budget id) when ``uri`` is one of this node's budget ids."""
    prefix = f"{base_url}/spaces/"
    if not uri or not uri.startswith(prefix):
        return None
    parts = uri[len(prefix):].split("/")
    if len(parts) != 5 or parts[1] != "c" or parts[3] != "budgets" or not parts[0]:
        return None
    if not all(p.isdigit() and 0 < int(p) < 2**31 for p in (parts[2], parts[4])):
        return None
    return parts[0], int(parts[2]), int(parts[4])


async def _budget(db, base: str, uri: str | None):
    """(space, budget) named by ``uri`` in a published space and component, else None."""
    from node.components.budgets.models import Budget
    from node.spaces.models import Component

    target = local_budget(base, uri)
    if target is None:
        return None
    slug, component_id, budget_id = target
    row = (await db.execute(select(Space, Budget).join(Budget, Budget.space_id == Space.id)
                            .join(Component, Component.id == Budget.component_id)
                            .where(Space.slug == slug, Budget.id == budget_id, Component.id == component_id,
                                   Component.kind == "budgets", Component.published.is_(True)))).first()
    if row is None or not row[0].published:
        return None
    return row[0], row[1]


def public_record(activity: dict) -> dict:
    """What the records publish of a ballot: no choices, no receipt (they would tie the voter to
    their line of the public ballot list), and so not the activity's proof, which covers them.
    The Ballot's own proof and the attestation's still verify."""
    return {k: v for k, v in activity.items() if k not in SECRET}


def choices_of(selection, budget_uri: str, kind: str) -> dict[int, int | None]:
    """``selection`` as service.check_and_store_ballot takes it: project id -> points or None."""
    from node.components.budgets.public import project_uri

    if not isinstance(selection, list) or len(selection) > 10_000:
        raise ValueError("the selection is not a list of projects")
    prefix = project_uri(budget_uri, 0)[:-1]
    choices: dict[int, int | None] = {}
    for entry in selection:
        if isinstance(entry, str):
            entry = {"id": entry}
        ref = id_of(entry) if isinstance(entry, dict) else None
        number = ref[len(prefix):] if ref and ref.startswith(prefix) else ""
        if not number.isdigit() or not 0 < int(number) < 2**31 or int(number) in choices:
            raise ValueError(f"{ref!r} is not a project of {budget_uri}, or appears twice")
        points = entry.get("points")
        if kind == "cumulative":
            if not isinstance(points, int) or isinstance(points, bool):
                raise ValueError("a cumulative ballot gives whole points to each project")
        elif points is not None:
            raise ValueError("this ballot gives no points")
        choices[int(number)] = points
    return choices


def _check_residence(attestation: dict, uri: str, codes: list[str], participant) -> None:
    """A budget with postal codes: the home node's signed attestation (its proof is checked by
    answer.eligible) says the voter lives in one of this budget's codes, all of them among the budget's
    codes now (the admin may have changed them since the voter's node read them)."""
    from node.cohosting.attestation import claimed_codes
    from node.permissions.rules import postal_key

    if attestation.get("residesIn") is None:
        raise Refusal("postal_code_not_attested", "the attestation says nothing of a postal code", participant)
    claimed = claimed_codes(attestation, uri)
    if claimed is None:
        raise Refusal("budget_restricted", f"the attestation's residesIn is not about {uri}", participant)
    outside = claimed - {postal_key(c) for c in codes}
    if outside:
        raise Refusal("budget_restricted", f"{sorted(outside)} are not postal codes of {uri}", participant)


def _budget_reason(exc) -> str:
    """The REASONS code of a refusal by node.components.budgets.service."""
    if exc.status == 409:
        return "already_voted"
    if exc.status == 403:
        return "voting_closed"
    return "ballot_invalid"


def _check_ballot_proof(ballot: dict, actor) -> None:
    from federation.proofs import ProofError, verify_proof

    if "proof" not in ballot:
        raise Refusal("unsigned", "the Ballot has no FEP-8b32 proof of its voter")
    try:
        method = verify_proof(ballot, lambda m: actor.multikeys.get(m))
    except ProofError as exc:
        raise Refusal("unsigned", f"the Ballot's proof does not verify: {exc.reason}") from None
    if method.split("#")[0] != actor.id:
        raise Refusal("unsigned", f"{method} is not a key of {actor.id}")


async def on_create(ctx: InboxContext, activity: dict, actor) -> None:
    ballot = activity.get("object")
    if not isinstance(ballot, dict) or "Ballot" not in types_of(ballot) or "attestation" not in activity:
        return  # a Note, a proposal: other handlers' (node.cohosting.routes)
    from node.cohosting.records import node_signing_key
    from node.components.budgets.models import Ballot, Budget
    from node.components.budgets.service import BudgetError, budget_uri, check_and_store_ballot, voting_context

    base = ctx.app[SETTINGS].base_url
    budget_ref = id_of(ballot.get("context"))
    async with ctx.app[DB]() as db:
        if await _budget(db, base, budget_ref) is None:
            return  # not one of our budgets: not ours to answer
    signing = await node_signing_key(ctx.app)  # before the transaction: it may need its own
    now = utcnow()
    async with ctx.app[DB].begin() as db:
        found = await _budget(db, base, budget_ref)
        if found is None:
            return
        space, budget = found
        group = uris.space_actor(base, space.slug)
        uri = budget_uri(base, space.slug, budget)
        outcome, receipt = Outcome(), None
        with refusals(outcome, "ballot", activity):
            # Every failure of these three is "unsigned", whichever comes first.
            _check_ballot_proof(ballot, actor)
            participant = await attested(ctx, db, space, activity, actor, now, outcome, obj=ballot, refused="unsigned")
            if outcome.informal:  # an open space's follower: a ballot is counted or not, never "informal"
                outcome.informal = False  # kept as a refused ballot, not an informal one
                raise Refusal("not_partner", f"{actor.id}'s node is not a partner of {group}", participant)
            if budget.postal_codes:
                _check_residence(activity["attestation"], uri, budget.postal_codes, participant)
            _component, _space, settings, _phase = await voting_context(db, budget)
            try:
                choices = choices_of(activity.get("selection"), uri, settings["ballot_kind"])
            except ValueError as exc:
                raise Refusal("ballot_invalid", str(exc), participant) from None
            receipt = activity.get("receipt")
            if not isinstance(receipt, str) or not HEX64.match(receipt):
                raise Refusal("ballot_invalid", "the receipt is not a SHA-256 in hex", participant)
            if await db.scalar(select(Ballot.id).where(Ballot.budget_id == budget.id, Ballot.receipt == receipt)):
                raise Refusal("ballot_invalid", "a ballot of this budget has this receipt already", participant)
            try:
                async with db.begin_nested():
                    fresh = await db.get(Budget, budget.id)
                    await check_and_store_ballot(db, fresh, participant, choices, base_url=base, receipt=receipt)
            except BudgetError as exc:
                raise Refusal(_budget_reason(exc), str(exc), participant) from None
            # Sent to the voter alone: where their receipt is listed once the ballots are published.
            outcome.result = f"{uri}/ballots?receipt={receipt}"
        await answer(ctx, db, space, actor, activity, outcome, kind="ballot", object_uri=uri, now=now,
                     signing=signing, record=public_record(activity),
                     extra=None if outcome.reason else {"receipt": receipt})
