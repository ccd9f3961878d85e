"""The inbox pipeline: what happens to an activity POSTed to an inbox, from raw bytes to handlers.

Framework-neutral and storage-neutral: the caller passes method, target, headers and body, and
injects what needs the node (actor resolution with its cache, instance policy, storage).  Order,
cheapest and least trusting first:

1. size limit (413), JSON object (400), shape limits against JSON-LD bombs (400);
2. the activity names an http(s) ``id`` and ``actor`` (400);
3. instance policy on the keyId's and the actor's hosts (403) — before any fetch, so that a
   blocked instance costs us no network request;
4. the keyId has the actor's origin (401), then the HTTP signature verifies with the key of the
   actor that owns it (401; a failure with a cached key refetches the actor once: key rotation);
5. authorship (401): the signer is the activity's actor — or, when the activity carries an
   FEP-8b32 proof, the proof decides authorship and the signer may be a forwarder;
6. origins (403): the activity id and embedded objects share the actor's origin; an Announce may
   embed a foreign object only with a valid proof, otherwise it is kept by reference (its id);
   an Accept or Reject embeds the receiver's own activity (its Follow), which is not checked;
7. dedupe (202, nothing done): ``store`` inserts the activity; a unique activity id makes a
   replay — even concurrent ones — a no-op;
8. dispatch to handlers registered by type; unknown types are stored as ``ignored`` (202).

A handler that raises does not turn into a 500: the activity is already stored, so a retry by
the sender would be a replay that does nothing.  It is marked ``failed`` with the error (for an
admin to look at) and the answer is 202.  Only a failure to store gives an error, which the
caller should turn into a 500 so that the sender retries.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urlsplit

from .actors import ActorError, RemoteActor
from .fetch import FetchError
from .proofs import ProofError, verify_proof
from .signatures import DEFAULT_MAX_SKEW, SignatureError, signature_key_id, verify_request
from .vocab import id_of, same_origin, types_of

__all__ = ["Handler", "InboxLimits", "InboxPipeline", "InboxResult", "Received", "ResolvedActor"]

log = logging.getLogger("federation.inbox")


@dataclass(frozen=True)
class InboxLimits:
    max_body_bytes: int = 1024 * 1024
    max_depth: int = 32  # real activities nest 4-6 levels
    max_items: int = 10_000  # keys + list elements, all levels together
    max_string: int = 512 * 1024  # one string (a long proposal's HTML fits)
    max_id_length: int = 2048


@dataclass(frozen=True)
class ResolvedActor:
    actor: RemoteActor
    fresh: bool  # fetched for this call: refetching it again cannot help


@dataclass(frozen=True)
class Received:
    """What ``store`` gets: an activity that passed every check."""

    activity_id: str
    actor: str
    type: str
    activity: dict[str, Any]
    key_id: str
    status: str  # "received" (handlers will run) or "ignored" (no handler for its type)


@dataclass(frozen=True)
class InboxResult:
    status: int
    code: str  # for programs: accepted, duplicate, ignored, handler_failed, or why it was refused
    reason: str  # for people
    activity_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 202

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "reason": self.reason,
                "activity": self.activity_id}


class Refused(Exception):
    def __init__(self, status: int, code: str, reason: str):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


# handler(context, activity, author): context is whatever the caller passed to process().
Handler = Callable[[Any, dict, RemoteActor], Awaitable[None]]
Resolver = Callable[[str, bool], Awaitable[ResolvedActor]]  # (actor URL or key id, refresh)


@dataclass
class InboxPipeline:
    resolve_actor: Resolver
    store: Callable[[Received, Any], Awaitable[bool]]  # False: the activity id was already there
    finish: Callable[[str, str, str | None], Awaitable[None]]  # (activity id, status, error)
    host_refusal: Callable[[str], Awaitable[str | None]]  # host -> reason to refuse it, or None
    limits: InboxLimits = field(default_factory=InboxLimits)
    max_skew: Any = DEFAULT_MAX_SKEW
    refetch_interval: float = 60.0  # at most one rotation refetch per actor per interval
    clock: Callable[[], float] = time.monotonic
    handlers: dict[str, list[Handler]] = field(default_factory=dict)
    _refetched: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def register(self, activity_type: str, handler: Handler) -> None:
        """Handlers of one type run in registration order; each decides whether the activity is
        its business (e.g. by the object's type). A handler may have an ``accepts(activity)``
        attribute, a cheap test run before anything else: an activity no handler accepts is
        stored as ``ignored`` at once, with no dispatch (most Creates a node receives are
        ordinary posts that no component wants)."""
        self.handlers.setdefault(activity_type, []).append(handler)

    async def process(self, method: str, target: str, headers: Mapping[str, str], body: bytes, *,
                      scheme: str = "https", host: str | None = None, context: Any = None) -> InboxResult:
        try:
            return await self._process(method, target, headers, body, scheme, host, context)
        except Refused as refused:
            return InboxResult(refused.status, refused.code, refused.reason)

    async def _process(self, method, target, headers, body, scheme, host, context) -> InboxResult:
        activity = self._parse(body)
        activity_id, actor_id, kinds = self._identify(activity)
        key_id = signature_key_id(headers)
        if not key_id:
            signed = any(k.lower() in ("signature", "signature-input") for k in headers)
            raise Refused(401, "signature_malformed" if signed else "signature_missing",
                          "The signature names no keyId" if signed else
                          "The request is not signed: inbox POSTs need an HTTP Signature")
        for host in {_host(actor_id), _host(key_id)}:  # one host, as a rule
            reason = await self.host_refusal(host)
            if reason:
                raise Refused(403, "instance_refused", reason)
        has_proof = isinstance(activity.get("proof"), (Mapping, list))
        if not same_origin(key_id, actor_id) and not has_proof:
            raise Refused(401, "key_not_actor", f"keyId {key_id} is not on the origin of the actor "
                                                f"{actor_id}; only the actor may sign its activities")
        signer = await self._verify_signature(method, target, headers, body, scheme, host, key_id)
        if has_proof:
            author = await self._verify_proof(activity, actor_id, "the activity")
        elif signer.id != actor_id:
            raise Refused(401, "signer_not_actor", f"the request is signed by {signer.id}, "
                                                   f"not by the activity's actor {actor_id}")
        else:
            author = signer
        self._check_origins(activity, activity_id, actor_id, kinds)
        if "Announce" in kinds:
            await self._announced_object(activity, actor_id)
        handlers = [h for kind in kinds for h in self.handlers.get(kind, ()) if _accepts(h, activity)]
        received = Received(activity_id, actor_id, kinds[0], activity, key_id,
                            "received" if handlers else "ignored")
        if not await self.store(received, context):
            return InboxResult(202, "duplicate", "Already received: nothing was done again", activity_id)
        if not handlers:
            return InboxResult(202, "ignored", f"Accepted; {kinds[0]} activities are not used here",
                               activity_id)
        return await self._dispatch(handlers, context, activity, author, activity_id)

    # --- steps -----------------------------------------------------------------------------------

    def _parse(self, body: bytes) -> dict[str, Any]:
        limits = self.limits
        if len(body) > limits.max_body_bytes:
            raise Refused(413, "too_large", f"The body is {len(body)} bytes; the limit is "
                                            f"{limits.max_body_bytes}")
        try:
            activity = json.loads(body)
        except RecursionError:
            raise Refused(400, "too_deep", f"JSON nested deeper than {limits.max_depth} levels") from None
        except ValueError as exc:
            raise Refused(400, "not_json", f"The body is not JSON: {str(exc)[:120]}") from None
        if not isinstance(activity, dict):
            raise Refused(400, "not_object", "The body must be a JSON object (an activity)")
        # A small body cannot break the limits, and most activities are small: each item takes
        # at least a byte, no string is longer than the body, no nesting deeper than its
        # brackets.  Only bodies that could are walked.
        if (len(body) > min(limits.max_items, limits.max_string)
                or body.count(b"{") + body.count(b"[") > limits.max_depth):
            _check_shape(activity, limits)
        return activity

    def _identify(self, activity: dict) -> tuple[str, str, list[str]]:
        activity_id, actor_id, kinds = activity.get("id"), id_of(activity.get("actor")), types_of(activity)
        if not isinstance(activity_id, str) or not activity_id:
            raise Refused(400, "no_id", "The activity has no id; it cannot be deduplicated")
        for name, value in (("id", activity_id), ("actor", actor_id)):
            if not value or not value.startswith(("https://", "http://")) or len(value) > self.limits.max_id_length:
                raise Refused(400, f"bad_{name}", f"The activity's {name} must be an http(s) URL of at "
                                                  f"most {self.limits.max_id_length} characters")
        if not kinds or any(len(k) > 64 for k in kinds):
            raise Refused(400, "no_type", "The activity has no usable type")
        return activity_id, actor_id, kinds

    async def _resolve(self, url: str, refresh: bool) -> ResolvedActor:
        try:
            return await self.resolve_actor(url, refresh)
        except FetchError as exc:
            code = "key_fetch_refused" if exc.code in ("blocked_address", "invalid_url") else "key_unavailable"
            raise Refused(401, code, f"Cannot get the key {url}: {exc.reason}") from None
        except ActorError as exc:
            raise Refused(401, "key_unavailable", f"The actor document of {url} is unusable: {exc.reason}") from None

    def _may_refetch(self, actor_id: str) -> bool:
        """Key rotation justifies a refetch; a flood of bad signatures naming someone's key must
        not make us fetch their actor on every request."""
        now, last = self.clock(), self._refetched.get(actor_id)
        if last is not None and now - last < self.refetch_interval:
            return False
        self._refetched[actor_id] = now
        self._refetched.move_to_end(actor_id)
        while len(self._refetched) > 10_000:
            self._refetched.popitem(last=False)
        return True

    async def _verify_signature(self, method, target, headers, body, scheme, host, key_id) -> RemoteActor:
        resolved = await self._resolve(key_id, False)
        while True:
            actor = resolved.actor
            try:
                if not actor.owns_key(key_id):
                    raise SignatureError(f"{actor.id} does not publish the key {key_id}", "unknown_key", key_id)
                verify_request(method, target, headers, body, lambda _k: actor.public_key_pem,
                               max_skew=self.max_skew, scheme=scheme, host=host)
                return actor
            except SignatureError as exc:
                rotated = exc.code in ("bad_signature", "unknown_key")
                if rotated and not resolved.fresh and self._may_refetch(actor.id):
                    resolved = await self._resolve(key_id, True)
                    continue
                code = {"missing": "signature_missing", "digest_mismatch": "digest_mismatch",
                        "unknown_key": "key_not_owned"}.get(exc.code, f"signature_{exc.code}")
                raise Refused(401, code, exc.reason) from None

    async def _verify_proof(self, document: dict, owner_id: str, what: str) -> RemoteActor:
        """FEP-8b32: the proof's verificationMethod must be an assertionMethod of ``owner_id``."""
        proof = document.get("proof")
        proof = proof[0] if isinstance(proof, list) and len(proof) == 1 else proof
        method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
        if not isinstance(method, str) or not same_origin(method, owner_id):
            raise Refused(401, "bad_proof", f"The proof of {what} is not made with a key of {owner_id}")
        resolved = await self._resolve(urldefrag(method).url, False)
        if resolved.actor.id == owner_id and method not in resolved.actor.multikeys and not resolved.fresh \
                and self._may_refetch(owner_id):  # a rotated Ed25519 key
            resolved = await self._resolve(urldefrag(method).url, True)
        actor = resolved.actor
        if actor.id != owner_id or method not in actor.multikeys:
            raise Refused(401, "bad_proof", f"{method} is not an assertion key of {owner_id}")
        try:
            verify_proof(document, lambda m: actor.multikeys.get(m))
        except ProofError as exc:
            raise Refused(401, "bad_proof", f"The proof of {what} does not verify: {exc.reason}") from None
        return actor

    def _check_origins(self, activity: dict, activity_id: str, actor_id: str, kinds: list[str]) -> None:
        same_origin = _SameOriginAs(actor_id)
        if not same_origin(activity_id, actor_id):
            raise Refused(403, "origin_mismatch", f"The activity id {activity_id} is not on the origin "
                                                  f"of its actor {actor_id}")
        obj = activity.get("object")
        if "Announce" in kinds or not isinstance(obj, Mapping):
            return
        if {"Accept", "Reject"} & set(kinds):
            # They answer the receiver's own activity (a Follow), embedded as the receiver sent it:
            # it is on the receiver's origin by nature.  Handlers use only its id, and check it
            # is an activity of theirs that the answering actor was asked about.
            return
        for name in ("id", "attributedTo", "actor"):
            value = id_of(obj.get(name))
            if value is not None and not same_origin(value, actor_id):
                raise Refused(403, "origin_mismatch", f"The embedded object's {name} {value} is not on "
                                                      f"the origin of the actor {actor_id}")

    async def _announced_object(self, activity: dict, actor_id: str) -> None:
        """An Announce relays someone else's object: keep it embedded only when its author's
        proof verifies (or it comes from the announcer's own origin); otherwise keep its id, and
        whoever needs it fetches it from its origin."""
        obj = activity.get("object")
        if not isinstance(obj, Mapping):
            return
        object_id = id_of(obj)
        if "proof" in obj:
            author = id_of(obj.get("attributedTo")) or id_of(obj.get("actor"))
            if not author or (object_id and not same_origin(object_id, author)):
                raise Refused(401, "bad_proof", "The announced object's proof has no author on its origin")
            await self._verify_proof(dict(obj), author, "the announced object")
        elif object_id is None or not same_origin(object_id, actor_id):
            if object_id is None:
                raise Refused(400, "bad_object", "The announced object has no id")
            activity["object"] = object_id

    async def _dispatch(self, handlers, context, activity, author, activity_id) -> InboxResult:
        errors = []
        for handler in handlers:
            try:
                await handler(context, activity, author)
            except Exception as exc:  # one component's bug must not drop the activity for others
                log.exception("inbox handler %s failed on %s", getattr(handler, "__qualname__", handler),
                              activity_id)
                errors.append(f"{getattr(handler, '__qualname__', handler)}: {exc!r}"[:500])
        if errors:
            await self.finish(activity_id, "failed", "\n".join(errors))
            return InboxResult(202, "handler_failed", "Accepted and stored, but processing it failed; "
                                                      "the node's administrators can see why", activity_id)
        await self.finish(activity_id, "processed", None)
        return InboxResult(202, "accepted", "Accepted", activity_id)


def _accepts(handler: Any, activity: dict) -> bool:
    accepts = getattr(handler, "accepts", None)
    return accepts is None or bool(accepts(activity))


def _check_shape(document: Any, limits: InboxLimits) -> None:
    """Depth, total size and string length, walked without recursion (cheap, before any crypto)."""
    items, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > limits.max_string:
                raise Refused(400, "string_too_long", f"A string is longer than {limits.max_string} characters")
            continue
        if isinstance(value, dict):
            children = list(value.values())
            stack.extend((key, depth) for key in value)  # keys are strings: length-checked too
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limits.max_depth:
            raise Refused(400, "too_deep", f"JSON nested deeper than {limits.max_depth} levels")
        items += len(children)
        if items > limits.max_items:
            raise Refused(400, "too_many_items", f"The activity has more than {limits.max_items} "
                                                 "keys and list items")
        stack.extend((child, depth + 1) for child in children)


class _SameOriginAs:
    """`same_origin(url, actor_id)` for one actor's many ids.  Ids its server minted begin with
    exactly the actor id's "scheme://authority/": identical text parses to the identical origin,
    so only ids spelled differently need the full parse (most of what this check costs)."""

    def __init__(self, actor_id: str):
        start = actor_id.find("://")
        end = actor_id.find("/", start + 3) if start > 0 else -1
        self.prefix = actor_id[:end + 1] if end > 0 and same_origin(actor_id, actor_id) else None

    def __call__(self, url: Any, actor_id: str) -> bool:
        if self.prefix is not None and isinstance(url, str) and url.startswith(self.prefix):
            return True
        return same_origin(url, actor_id)


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        return (parts.netloc.rpartition("@")[2] or "").lower()
    except ValueError:
        return ""
