"""Actor documents: building ours, and reading (and distrusting) everyone else's.

Our actors carry two keys (DESIGN.md §4): an RSA ``publicKey`` for HTTP signatures, as Mastodon
reads it, and an Ed25519 ``Multikey`` in ``assertionMethod`` (FEP-521a) for FEP-8b32 proofs.
After a key rotation ``publicKey`` is the new RSA key only (HTTP signatures are checked when they
are received), while ``assertionMethod`` keeps every Ed25519 key the actor had, the old ones with
a ``revoked`` date-time, so that proofs made before the rotation stay verifiable.

A remote actor document is accepted only if it is what it claims to be: its ``id`` has the origin
of the URL it was fetched from (else any server could publish keys "for" another one), and its
keys are owned/controlled by that id.  Caching is in memory here; persisting actors is the node's
business.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urldefrag

from .keys import KeyFormatError, decode_multikey, load_rsa_public_key
from .vocab import ACTOR_TYPES, default_context, id_of, same_origin, types_of

__all__ = ["ActorCache", "ActorError", "AssertionKey", "Ed25519Key", "RemoteActor", "build_actor",
           "ed25519_key_fragment", "fetch_actor", "key_owner_matches", "parse_remote_actor"]

LOCAL_KINDS = ("Application", "Group", "Person")
MAIN_KEY_FRAGMENT = "#main-key"
ED25519_KEY_FRAGMENT = "#ed25519-key"


def ed25519_key_fragment(number: int) -> str:
    """The verification-method fragment of an actor's ``number``-th Ed25519 key (1-based, in
    creation order): the first keeps ``#ed25519-key``, which proofs made before any rotation
    name; later ones are ``#ed25519-key-2``, ``#ed25519-key-3``…"""
    if number < 1:
        raise ValueError("Ed25519 keys are numbered from 1")
    return ED25519_KEY_FRAGMENT if number == 1 else f"{ED25519_KEY_FRAGMENT}-{number}"


@dataclass(frozen=True)
class Ed25519Key:
    """One Ed25519 key of our actor document: its fragment, public Multikey, revocation time."""

    fragment: str
    public_multibase: str
    revoked: datetime | None = None


class AssertionKey(str):
    """A remote actor's ``publicKeyMultibase`` that also carries the ``revoked`` time of its
    verification method (None while it is active).  A ``str``, so that code expecting the
    multibase keeps working, and :func:`federation.proofs.verify_proof` reads ``revoked`` from
    what its key resolver returns."""

    revoked: datetime | None

    def __new__(cls, multibase: str, revoked: datetime | None = None):
        key = super().__new__(cls, multibase)
        key.revoked = revoked
        return key

    def __repr__(self) -> str:
        return f"AssertionKey({str.__repr__(self)}, revoked={self.revoked!r})"


class ActorError(ValueError):
    """A remote actor document is unusable.  ``code``: malformed, not_actor, origin_mismatch,
    missing_key, key_owner_mismatch, bad_key."""

    def __init__(self, reason: str, code: str = "malformed"):
        super().__init__(reason)
        self.reason, self.code = reason, code


# --- our actors ----------------------------------------------------------------------------------


def build_actor(
    kind: str, *, id: str, preferred_username: str, name: str, summary: str | None,
    inbox: str, outbox: str, followers: str, shared_inbox: str, url: str,
    rsa_public_pem: str, ed25519_multibase: str | None = None,
    ed25519_keys: Sequence[Ed25519Key] = (), icon: str | Mapping[str, Any] | None = None,
    following: str | None = None, manually_approves_followers: bool = False,
    discoverable: bool = True, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An actor document for the node (Application), a space (Group) or a user (Person).

    ``ed25519_keys`` lists every Ed25519 key the actor has had, in the order to publish them
    (revoked ones get a ``revoked`` date-time); ``ed25519_multibase`` alone is the one key of an
    actor that never rotated, published as ``#ed25519-key``.

    ``extra`` is merged last (e.g. a Group's ``attributedTo`` moderators collection for Lemmy,
    ``published``, ``federationPolicy``); it cannot replace keys or the id."""
    if kind not in LOCAL_KINDS:
        raise ValueError(f"actor kind must be one of {', '.join(LOCAL_KINDS)}, not {kind!r}")
    if not ed25519_keys:
        if not ed25519_multibase:
            raise ValueError("an actor needs an Ed25519 key (ed25519_multibase or ed25519_keys)")
        ed25519_keys = [Ed25519Key(ED25519_KEY_FRAGMENT, ed25519_multibase)]
    doc: dict[str, Any] = {
        "@context": default_context(actor=True),
        "id": id,
        "type": kind,
        "preferredUsername": preferred_username,
        "name": name,
        "url": url,
        "inbox": inbox,
        "outbox": outbox,
        "followers": followers,
        "endpoints": {"sharedInbox": shared_inbox},
        "manuallyApprovesFollowers": manually_approves_followers,
        "discoverable": discoverable,
        "publicKey": {"id": id + MAIN_KEY_FRAGMENT, "owner": id, "publicKeyPem": rsa_public_pem},
        "assertionMethod": [_multikey_entry(id, key) for key in ed25519_keys],
    }
    if summary:
        doc["summary"] = summary
    if following:
        doc["following"] = following
    if icon:
        doc["icon"] = {"type": "Image", "url": icon} if isinstance(icon, str) else dict(icon)
    for key, value in (extra or {}).items():
        if key in ("id", "type", "publicKey", "assertionMethod"):
            raise ValueError(f"extra may not replace {key!r}")
        doc[key] = value
    return doc


def _multikey_entry(actor_id: str, key: Ed25519Key) -> dict[str, Any]:
    entry = {"id": actor_id + key.fragment, "type": "Multikey", "controller": actor_id,
             "publicKeyMultibase": key.public_multibase}
    if key.revoked is not None:
        # Whole seconds, rounded down: a proof created in the second of the revocation is refused
        # rather than a proof made just after it accepted.
        entry["revoked"] = key.revoked.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return entry


# --- remote actors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteActor:
    id: str
    kind: str
    inbox: str
    shared_inbox: str | None
    public_key_id: str
    public_key_pem: str = field(repr=False)
    # assertionMethod id -> publicKeyMultibase (Ed25519 only), revoked keys included: each value
    # is an AssertionKey whose ``revoked`` says since when (None: active).
    multikeys: Mapping[str, str]
    preferred_username: str | None = None
    name: str | None = None
    outbox: str | None = None
    followers: str | None = None
    url: str | None = None
    manually_approves_followers: bool = False

    @property
    def delivery_inbox(self) -> str:
        """Where to deliver public activities: the shared inbox when there is one."""
        return self.shared_inbox or self.inbox

    def owns_key(self, key_id: str) -> bool:
        """The authoritative check that a keyId is this actor's (after fetching it)."""
        return key_id == self.public_key_id or key_id in self.multikeys


def key_owner_matches(key_id: str, actor_id: str) -> bool:
    """Cheap check before any fetch: a keyId can belong to an actor only if it has the same
    origin (DESIGN.md §4).  Key URLs vary (Mastodon ``/users/a#main-key``, GoToSocial
    ``/users/a/main-key``), so ownership itself is proven by :meth:`RemoteActor.owns_key`."""
    return same_origin(key_id, actor_id)


def parse_remote_actor(doc: Any, fetched_from_url: str, *, now: datetime | None = None) -> RemoteActor:
    """Validate an actor document fetched from ``fetched_from_url`` (the final URL, after
    redirects) and extract what federation needs.  Raises :class:`ActorError`."""
    if not isinstance(doc, Mapping):
        raise ActorError("the actor document is not a JSON object")
    actor_id = doc.get("id")
    if not isinstance(actor_id, str) or not actor_id.startswith(("https://", "http://")):
        raise ActorError(f"the actor has no http(s) id (id: {actor_id!r})")
    if not same_origin(actor_id, fetched_from_url):
        raise ActorError(f"actor id {actor_id} does not have the origin of {fetched_from_url}, "
                         "where it was fetched from", "origin_mismatch")
    kinds = [t for t in types_of(doc) if t in ACTOR_TYPES]
    if not kinds:
        raise ActorError(f"{actor_id} is not an actor (type {doc.get('type')!r})", "not_actor")

    def own_url(name: str, value: Any, required: bool = False) -> str | None:
        # Inboxes are where we send traffic: keep them on the actor's own server, so a
        # document cannot aim our deliveries at a third party.
        url = id_of(value)
        if url is None:
            if required:
                raise ActorError(f"actor {actor_id} has no {name}")
            return None
        if not same_origin(url, actor_id):
            raise ActorError(f"the {name} of {actor_id} is on another origin ({url})", "origin_mismatch")
        return url

    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), Mapping) else {}
    key_id, key_pem = _main_key(doc.get("publicKey"), actor_id)
    return RemoteActor(
        id=actor_id,
        kind=kinds[0],
        inbox=own_url("inbox", doc.get("inbox"), required=True),
        shared_inbox=own_url("shared inbox", endpoints.get("sharedInbox")),
        public_key_id=key_id,
        public_key_pem=key_pem,
        multikeys=_multikeys(doc.get("assertionMethod"), actor_id, now or datetime.now(UTC)),
        preferred_username=_text(doc.get("preferredUsername")),
        name=_text(doc.get("name")),
        outbox=own_url("outbox", doc.get("outbox")),
        followers=own_url("followers collection", doc.get("followers")),
        url=_link(doc.get("url")),
        manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
    )


def _main_key(value: Any, actor_id: str) -> tuple[str, str]:
    """The RSA key for HTTP signatures.  Some servers publish a list; take the one the actor
    owns, and fail loudly when the only keys belong to someone else."""
    keys = value if isinstance(value, list) else [value] if value is not None else []
    keys = [k for k in keys if isinstance(k, Mapping)]
    if not keys:
        raise ActorError(f"actor {actor_id} publishes no publicKey object", "missing_key")
    owned = [k for k in keys if k.get("owner") == actor_id]
    if not owned:
        raise ActorError(f"the publicKey of {actor_id} is owned by {keys[0].get('owner')!r}, "
                         "not by the actor", "key_owner_mismatch")
    key = owned[0]
    key_id, pem = key.get("id"), key.get("publicKeyPem")
    if not isinstance(key_id, str) or not same_origin(key_id, actor_id):
        raise ActorError(f"the publicKey id of {actor_id} ({key_id!r}) is not on its origin",
                         "key_owner_mismatch")
    if not isinstance(pem, str):
        raise ActorError(f"the publicKey of {actor_id} has no publicKeyPem", "missing_key")
    try:
        load_rsa_public_key(pem)  # parsed once now (and cached) rather than at the first inbox POST
    except KeyFormatError as exc:
        raise ActorError(f"the publicKey of {actor_id} is unusable: {exc}", "bad_key") from None
    return key_id, pem


def _multikeys(value: Any, actor_id: str, now: datetime) -> dict[str, str]:
    """FEP-521a: entries that do not conform (other controller, other origin, not Ed25519,
    expired) SHOULD be ignored rather than rejecting the whole actor.  Revoked keys are kept with
    their revocation time: proofs created before it stay valid (Controlled Identifiers §2.2)."""
    entries = value if isinstance(value, list) else [value]
    found: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or "Multikey" not in types_of(entry):
            continue
        key_id, multibase = entry.get("id"), entry.get("publicKeyMultibase")
        if entry.get("controller") != actor_id or not isinstance(key_id, str) or not same_origin(key_id, actor_id):
            continue
        if _expired(entry.get("expires"), now):
            continue
        revoked = _moment(entry.get("revoked")) if entry.get("revoked") is not None else None
        if entry.get("revoked") is not None and revoked is None:
            continue  # a revocation we cannot read: no proof can be shown to predate it
        try:
            decode_multikey(multibase)
        except KeyFormatError:
            continue
        found[key_id] = AssertionKey(multibase, revoked)
    return found


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _expired(value: Any, now: datetime) -> bool:
    if value is None:
        return False
    expires = _moment(value)
    return expires is None or expires <= now  # an expiry we cannot read is not a key we can trust


def _link(value: Any) -> str | None:
    """``url`` may be a string, a Link object (``href``) or a list of either: take the first."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            return item
        if isinstance(item, Mapping) and isinstance(item.get("href"), str):
            return item["href"]
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- fetching and caching ------------------------------------------------------------------------


class ActorCache:
    """A bounded in-memory cache of parsed remote actors with expiry, indexed by actor id and
    key id.  For one event loop (not thread-safe); the clock is injectable for tests."""

    def __init__(self, max_size: int = 10_000, ttl: float = 24 * 3600,
                 clock: Callable[[], float] = time.monotonic):
        self.max_size, self.ttl, self._clock = max_size, ttl, clock
        self._actors: OrderedDict[str, tuple[float, RemoteActor]] = OrderedDict()
        self._by_key: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._actors)

    def get(self, actor_id: str) -> RemoteActor | None:
        entry = self._actors.get(actor_id)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self.invalidate(actor_id)
            return None
        self._actors.move_to_end(actor_id)
        return entry[1]

    def get_by_key(self, key_id: str) -> RemoteActor | None:
        actor_id = self._by_key.get(key_id)
        actor = self.get(actor_id) if actor_id else None
        return actor if actor is not None and actor.owns_key(key_id) else None

    def put(self, actor: RemoteActor) -> None:
        self.invalidate(actor.id)  # drops the old key ids of a rotated actor
        self._actors[actor.id] = (self._clock() + self.ttl, actor)
        for key_id in (actor.public_key_id, *actor.multikeys):
            self._by_key[key_id] = actor.id
        while len(self._actors) > self.max_size:
            self.invalidate(next(iter(self._actors)))  # least recently used

    def invalidate(self, actor_id: str) -> None:
        """Forget an actor, e.g. before refetching it when its signature no longer verifies
        (the key may have rotated)."""
        entry = self._actors.pop(actor_id, None)
        if entry is not None:
            for key_id in (entry[1].public_key_id, *entry[1].multikeys):
                if self._by_key.get(key_id) == actor_id:
                    del self._by_key[key_id]


async def fetch_actor(fetcher, url: str, *, cache: ActorCache | None = None, signer=None,
                      refresh: bool = False) -> RemoteActor:
    """Fetch (or take from ``cache``) the actor at ``url``, which may also be a key id such as
    ``…/users/a#main-key``.  ``fetcher`` is a :class:`federation.fetch.SafeFetcher`; ``signer``
    makes it a signed GET (servers in "authorized fetch" mode require one).  When ``url`` was a
    keyId, the caller still checks ``actor.owns_key(key_id)``: a document may name any owner."""
    requested, url = url, urldefrag(url).url
    if cache is not None and not refresh:
        cached = cache.get(url) or cache.get_by_key(requested)
        if cached is not None:
            return cached
    fetched = await fetcher.get_document(url, signer)
    doc = fetched.data
    if "owner" in doc and "inbox" not in doc:
        # A separate key document (GoToSocial style): the actor is its owner, on the same origin.
        owner = doc.get("owner")
        if not isinstance(owner, str) or not same_origin(owner, fetched.url):
            raise ActorError(f"the key document at {fetched.url} names no owner on its origin")
        fetched = await fetcher.get_document(owner, signer)
        doc = fetched.data
    actor = parse_remote_actor(doc, fetched.url)
    if cache is not None:
        cache.put(actor)
    return actor
