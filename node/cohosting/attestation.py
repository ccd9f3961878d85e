"""Eligibility attestations: a home node vouches that one of its residents may act in a space of
another node (docs/FEDERATION.md, "Remote participation").

The attestation travels inside the resident's signed activity, with its own FEP-8b32 proof made
by the home node's actor, so the host (and anyone recounting later) can check both signatures
long after the HTTP request is gone. It names the resident (``subject``), the space
(``eligibleFor``), the authorisation it rests on and an expiry; nothing of the authorisation's
data (document numbers, birth dates) leaves the home node.

For a budget restricted to postal codes, the attestation also says ``residesIn``: the resident
lives in one of the budget's codes — the whole list the host publishes, never the resident's
own code, since the attestation goes into the space's public records.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from federation.vocab import id_of, moment_of, same_origin, types_of

ATTESTATION_TYPE = "EligibilityAttestation"
# Long enough for a delivery retried over a host's short outage, short enough that an attestation
# copied from a public record cannot be replayed much later (each activity id is used once anyway).
VALIDITY = timedelta(days=3)


@dataclass(frozen=True)
class AttestationProblem(Exception):
    """Why an attestation does not hold: a REASONS code and a sentence for the logs."""

    reason: str
    detail: str


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def unsigned_attestation(*, node_actor: str, resident: str, space: str, authorisation: str | None,
                         now: datetime, valid_until: datetime | None = None,
                         resides_in: dict | None = None) -> dict[str, Any]:
    """The attestation before the node's proof is added (federation.proofs.create_proof).
    ``valid_until``: never later than the authorisation itself holds. ``resides_in``:
    {"context": budget URI, "postalCodes": [...]} (residence_claim), for a restricted budget's ballot."""
    until = now + VALIDITY if valid_until is None else min(valid_until, now + VALIDITY)
    extra = {"residesIn": resides_in} if resides_in is not None else {}
    return {"id": f"{node_actor}/attestations/{uuid.uuid4()}", "type": ATTESTATION_TYPE,
            "attributedTo": node_actor, "subject": resident, "eligibleFor": space,
            "authorization": authorisation or "account", "published": _iso(now), "validUntil": _iso(until),
            **extra}


def residence_claim(budget: str, codes) -> dict[str, Any]:
    """The ``residesIn`` claim for ``budget``: its codes, normalised (node.permissions.rules
    postal_key: how verifications store them) and sorted, so that equal lists are equal JSON."""
    from node.permissions.rules import postal_key

    return {"context": budget, "postalCodes": sorted({postal_key(c) for c in codes if postal_key(c)})}


def claimed_codes(document: dict, budget: str) -> set[str] | None:
    """The postal codes the attestation ``document`` says its resident lives in one of, for
    ``budget``; None without such a claim (or a claim for another budget, or malformed)."""
    from node.permissions.rules import postal_key

    claim = document.get("residesIn")
    if not isinstance(claim, dict) or id_of(claim.get("context")) != budget:
        return None
    codes = claim.get("postalCodes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and postal_key(c) for c in codes):
        return None
    return {postal_key(c) for c in codes}


@dataclass(frozen=True)
class Attestation:
    node: str  # the attesting node's actor
    resident: str
    space: str
    authorisation: str
    valid_until: datetime


def read_attestation(activity: dict, *, space: str, now: datetime) -> tuple[Attestation, dict]:
    """The attestation in ``activity`` if its shape holds for ``space`` at ``now`` (the proof is
    checked separately, with the node's keys): (parsed, the JSON object). Raises
    AttestationProblem with the reason code to answer."""
    document = activity.get("attestation")
    if not isinstance(document, dict):
        raise AttestationProblem("attestation_missing", "the activity carries no attestation object")
    if ATTESTATION_TYPE not in types_of(document):
        raise AttestationProblem("attestation_missing", f"the attestation's type is not {ATTESTATION_TYPE}")
    node, resident, target = id_of(document.get("attributedTo")), id_of(document.get("subject")), \
        id_of(document.get("eligibleFor"))
    actor = id_of(activity.get("actor"))
    if not node or not same_origin(node, actor or ""):
        raise AttestationProblem("attestation_forged", "the attestation is not made by the resident's own node")
    if resident != actor:
        raise AttestationProblem("attestation_forged", "the attestation is about someone else")
    if target != space:
        raise AttestationProblem("attestation_other_space", f"the attestation is for {target}, not {space}")
    until = moment_of(document.get("validUntil"))
    if until is None:
        raise AttestationProblem("attestation_forged", "the attestation has no validUntil date")
    if until <= now:
        raise AttestationProblem("attestation_expired", f"the attestation expired at {document.get('validUntil')}")
    if "proof" not in document:
        raise AttestationProblem("attestation_forged", "the attestation is not signed")
    authorisation = document.get("authorization")
    return Attestation(node, actor, space, authorisation if isinstance(authorisation, str) else "",
                       until), document
