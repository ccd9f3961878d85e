"""ActivityStreams vocabulary: context URLs, content types, the civicnode extension context, and
small helpers to read loosely-shaped JSON-LD the way fediverse software writes it.

civicnode does not run a JSON-LD processor (no remote context loading, which would be both slow
and an SSRF vector): documents are read as plain JSON with the compacted term names below, as
Mastodon, Lemmy and Mobilizon do.  The contexts are still declared correctly so that processors
that do expand our documents get the right IRIs.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ACTIVITY_JSON", "ACTOR_TYPES", "AP_ACCEPT", "AS_CONTEXT", "AS_PUBLIC", "CIVICNODE_CONTEXT",
    "CIVICNODE_NS", "DATA_INTEGRITY_V2", "DID_V1", "JRD_JSON", "LD_JSON_AS", "MULTIKEY_V1",
    "SECURITY_V1", "context_document", "default_context", "id_of", "is_activity_json", "is_json",
    "json_depth", "moment_of", "same_origin", "types_of",
]

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
# Addressing an activity to this collection makes it public (ActivityPub §5.6).
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# publicKey / publicKeyPem / owner: what Mastodon reads for HTTP-signature keys.
SECURITY_V1 = "https://w3id.org/security/v1"
# DataIntegrityProof and the proof terms (FEP-8b32).
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
# assertionMethod + Multikey, as in FEP-521a's example actor.
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

ACTIVITY_JSON = "application/activity+json"
LD_JSON_AS = f'application/ld+json; profile="{AS_CONTEXT}"'
JRD_JSON = "application/jrd+json"
# What to ask for when fetching an actor or object (ActivityPub §3.2).
AP_ACCEPT = f"{ACTIVITY_JSON}, {LD_JSON_AS}"

ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})

# The civicnode namespace.  Terms live under `cn:`; the document at CIVICNODE_NS (served by each
# node at /ns, see context_document) explains them.  Terms are inlined in each document's
# @context, as Mastodon does for `toot:`, so that nobody has to fetch a context to read us.
CIVICNODE_NS = "https://civicnode.org/ns#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
CIVICNODE_CONTEXT: Mapping[str, Any] = MappingProxyType({
    "cn": CIVICNODE_NS,
    "xsd": _XSD,
    "toot": "http://joinmastodon.org/ns#",
    # Mastodon's actor flags, so that Mastodon shows follow requests and directory entries right.
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "discoverable": "toot:discoverable",
    # Proposals (Article): lifecycle state, support count, content fingerprint.
    "state": "cn:state",
    "supportCount": {"@id": "cn:supportCount", "@type": "xsd:nonNegativeInteger"},
    "fingerprint": "cn:fingerprint",
    # Debate comments (Note): in_favor / against / neutral.
    "alignment": "cn:alignment",
    # Participatory budgets: project cost, space budget, currency code (ISO 4217).
    "cost": {"@id": "cn:cost", "@type": "xsd:decimal"},
    "budget": {"@id": "cn:budget", "@type": "xsd:decimal"},
    "currency": "cn:currency",
    # Votes: a Ballot selects projects; the receipt lets a voter find their secret ballot.
    "Ballot": "cn:Ballot",
    "selection": {"@id": "cn:selection", "@type": "@id"},
    "receipt": "cn:receipt",
    # Spaces (Group): who may take part, and which partner nodes vouch for their residents.
    "federationPolicy": "cn:federationPolicy",
    "partners": {"@id": "cn:partners", "@type": "@id"},
    "phase": "cn:phase",
    # Cross-territory participation: a home node attests that its resident may act in a space.
    "EligibilityAttestation": "cn:EligibilityAttestation",
    "attestation": {"@id": "cn:attestation", "@type": "@id"},
    "eligibleFor": {"@id": "cn:eligibleFor", "@type": "@id"},
    "authorization": "cn:authorization",
    "validUntil": {"@id": "cn:validUntil", "@type": "xsd:dateTime"},
    # For a budget restricted to postal codes: the resident lives in one of these (never which);
    # its "context" is the budget, as a Ballot's is.
    "residesIn": "cn:residesIn",
    "postalCodes": "cn:postalCodes",
    # What a host asks partner nodes to vouch for (an Invite), and why it refused (a Reject).
    "conditions": "cn:conditions",
    "reason": "cn:reason",
    "subject": "as:subject",
    # Published counts, per origin node and in total.
    "originNode": {"@id": "cn:originNode", "@type": "@id"},
    "countsByOrigin": "cn:countsByOrigin",
    # A Flag's reason (spam, offensive, does_not_belong, other), beside its free-text content.
    "reportReason": "cn:reportReason",
    # Proposal category (a label of the space), and the conclusion a closed debate reached.
    "category": "cn:category",
    "conclusion": "cn:conclusion",
    # Public records of a space, hash-chained; a RecordsHead is the node's signed statement of
    # how many records there are and the chain's hash after the last (node.cohosting.ledger).
    "RecordsHead": "cn:RecordsHead",
    "records": {"@id": "cn:records", "@type": "@id"},
    "chainHash": "cn:chainHash",
    "sequence": {"@id": "cn:sequence", "@type": "xsd:nonNegativeInteger"},
    "recordsHead": {"@id": "cn:recordsHead", "@type": "@id"},
})


def default_context(*, actor: bool = False) -> list[Any]:
    """The @context for documents we publish; ``actor=True`` adds the key vocabularies."""
    context: list[Any] = [AS_CONTEXT]
    if actor:
        context += [SECURITY_V1, DID_V1, MULTIKEY_V1]
    context.append(copy.deepcopy(dict(CIVICNODE_CONTEXT)))  # callers may edit their copy
    return context


def context_document() -> dict[str, Any]:
    """The JSON-LD context document to serve at the namespace URL (e.g. ``/ns``)."""
    return {"@context": copy.deepcopy(dict(CIVICNODE_CONTEXT))}


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; a=b; c="d e"`` into the lower-cased type and its parameters."""
    main, _, rest = (content_type or "").partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"')
    return main.strip().lower(), params


def is_activity_json(content_type: str | None) -> bool:
    """True for ``application/activity+json`` and for ``application/ld+json`` whose profile is
    absent or names ActivityStreams (another profile means another vocabulary)."""
    media, params = _media_type(content_type)
    if media == ACTIVITY_JSON:
        return True
    if media == "application/ld+json":
        profile = params.get("profile")
        return profile is None or AS_CONTEXT in profile.split()
    return False


def is_json(content_type: str | None) -> bool:
    """Any JSON media type: ``application/json`` or a ``+json`` suffix (RFC 6839)."""
    media, _ = _media_type(content_type)
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def types_of(obj: Any) -> list[str]:
    """The ``type`` of an object as a list (it may be a string, a list, or absent)."""
    if not isinstance(obj, Mapping):
        return []
    value = obj.get("type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def moment_of(value: Any) -> datetime | None:
    """An xsd:dateTime value (``published``, ``validUntil``…) as an aware datetime; a time without
    offset is taken as UTC; anything else is None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def id_of(value: Any) -> str | None:
    """The id of a reference that may be a URL string or an embedded object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) and found else None
    return None


_DEFAULT_PORTS: Mapping[str, int] = MappingProxyType({"http": 80, "https": 443})


@functools.lru_cache(maxsize=2048)  # an inbox compares the same actor ids again and again
def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError, AttributeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme]


def same_origin(url_a: Any, url_b: Any) -> bool:
    """Same scheme, host and port (default ports made explicit); False for anything unparsable,
    so that a malformed id can never be taken as belonging to someone."""
    if not isinstance(url_a, str) or not isinstance(url_b, str):
        return False
    origin_a = _origin(url_a)
    return origin_a is not None and origin_a == _origin(url_b)


def json_depth(value: Any, limit: int = 1000) -> int:
    """Nesting depth of parsed JSON, without recursion (a deeply nested "JSON-LD bomb" must not
    exhaust the stack of whoever walks it next).  Stops counting past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest
