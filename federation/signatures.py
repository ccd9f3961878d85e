"""HTTP Signatures for server-to-server requests.

Outgoing requests are signed with draft-cavage-12 ``rsa-sha256`` (what Mastodon and nearly every
fediverse server verify) using ``httpsig``.  Incoming requests may carry draft-cavage (``rsa-sha256``
or ``hs2019``, checked with ``httpsig``) or RFC 9421 HTTP Message Signatures (checked with
``http-message-signatures``).  Neither library checks what makes a signature mean something for
ActivityPub, so this module does: the body digest, the signature's age, and what it covers.

Framework-neutral: callers pass method, path, headers and body bytes.  Key lookup is a plain
callable ``key_id -> public PEM | None``; an async caller reads :func:`signature_key_id`, fetches
the key, then passes a resolver that returns it.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType, SimpleNamespace
from urllib.parse import urlsplit

import cryptography.exceptions
import http_sf
import httpsig
import httpsig.utils
import httpsig.verify
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.digests import ContentDigest
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from .keys import KeyFormatError, load_rsa_public_key

__all__ = ["DEFAULT_MAX_SKEW", "SignatureError", "VerifiedSignature", "digest_header",
           "sign_request", "signature_key_id", "verify_request"]

# Mastodon accepts a Date-only signature for 5 min plus a 1 h clock-skew margin.
DEFAULT_MAX_SKEW = timedelta(hours=1, minutes=5)
POST_HEADERS = ("(request-target)", "host", "date", "digest")
GET_HEADERS = ("(request-target)", "host", "date")
PublicKeyResolver = Callable[[str], "str | None"]


class SignatureError(Exception):
    """The request is not acceptably signed.  ``str(err)`` is for a person (log line, 401 body);
    ``code`` is for programs, e.g. re-fetch the actor's key once on ``bad_signature``:
    missing, malformed, unsupported, insufficient_coverage, stale, expired, digest_mismatch,
    unknown_key, bad_signature."""

    def __init__(self, reason: str, code: str = "malformed", key_id: str | None = None):
        super().__init__(reason)
        self.reason, self.code, self.key_id = reason, code, key_id


@dataclass(frozen=True)
class VerifiedSignature:
    key_id: str
    scheme: str  # "draft-cavage" or "rfc9421"
    algorithm: str
    covered: tuple[str, ...]  # signed headers / components, lower-case, in the signer's order
    signed_at: datetime  # from Date, (created) or created


# --- signing -------------------------------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """The draft-cavage ``Digest`` header value for a body."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


@functools.lru_cache(maxsize=64)
def _header_signer(key_id: str, private_pem: str, headers: tuple[str, ...]) -> httpsig.HeaderSigner:
    # httpsig parses the PEM in its constructor: keep one signer per key and header list.
    return httpsig.HeaderSigner(key_id, private_pem, algorithm="rsa-sha256", headers=list(headers),
                                sign_header="signature")


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    key_id: str,
    private_pem: str,
    *,
    now: datetime | None = None,
    signed_headers: Sequence[str] | None = None,
) -> dict[str, str]:
    """Return ``headers`` plus Host, Date, Digest (when there is a body) and Signature.

    Signs ``(request-target) host date digest`` when there is a body (always for POST), else
    ``(request-target) host date``; ``(request-target)`` includes the query string, as Mastodon
    expects.  ``signed_headers`` overrides that list (tests, peculiar peers).
    """
    method = method.upper()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"cannot sign a request to {url!r}: need an absolute http(s) URL")
    out = dict(headers or {})
    original = {k.lower(): k for k in out}

    def put(name: str, value: str) -> None:
        out.pop(original.pop(name.lower(), name), None)
        out[name] = value

    if "host" not in original:  # what an HTTP client sends: no default port
        default = parts.port in (None, {"http": 80, "https": 443}[parts.scheme])
        put("Host", parts.hostname if default else f"{parts.hostname}:{parts.port}")
    put("Date", email.utils.format_datetime(_utc(now), usegmt=True))
    if body is None and method == "POST":
        body = b""
    if body is not None:
        put("Digest", digest_header(body))
    if signed_headers is None:
        signed_headers = POST_HEADERS if body is not None else GET_HEADERS
    signer = _header_signer(key_id, private_pem, tuple(h.lower() for h in signed_headers))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    put("Signature", signer.sign(out, method=method, path=target)["signature"])
    return out


# --- verification --------------------------------------------------------------------------------


def signature_key_id(headers: Mapping[str, str]) -> str | None:
    """The keyId a request claims, without verifying anything (to fetch the key first)."""
    h = _lower(headers)
    if "signature-input" in h:
        try:
            inputs = http_sf.parse(h["signature-input"].encode("ascii"), tltype="dictionary")
        except (ValueError, TypeError, UnicodeEncodeError):
            return None
        key_ids = [p["keyid"] for _, p in inputs.values() if isinstance(p.get("keyid"), str)]
        return key_ids[0] if key_ids else None
    if "signature" in h:
        return _signature_params(h["signature"]).get("keyid")
    return None


@functools.lru_cache(maxsize=256)
def _signature_params(value: str) -> Mapping[str, str]:
    """The draft-cavage Signature header's parameters (names lower-cased), read-only.  Parsed
    once per header value: an inbox reads the keyId first (to fetch the key), then verifies, and
    httpsig's parser (urllib's parse_http_list) is the costliest step after the RSA arithmetic."""
    return MappingProxyType(dict(httpsig.utils.parse_signature_header(value)))


def verify_request(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key_resolver: PublicKeyResolver,
    now: datetime | None = None,
    *,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    scheme: str = "https",
    host: str | None = None,
) -> VerifiedSignature:
    """Verify an incoming request's signature or raise :class:`SignatureError`.

    ``path_with_query`` is the request target exactly as received.  ``scheme`` and ``host``
    (default: the Host header) rebuild the target URI that RFC 9421 signatures cover.
    """
    method, h, now = method.upper(), _lower(headers), _utc(now)
    if method == "POST" and body is None:
        body = b""
    if "signature-input" in h:
        if not (host or h.get("host")):
            raise SignatureError("Cannot rebuild the target URI: the request has no Host header")
        url = f"{scheme}://{host or h['host']}{path_with_query}"
        return _verify_rfc9421(method, path_with_query, h, body, public_key_resolver, now, max_skew, url)
    if "signature" in h:
        return _verify_cavage(method, path_with_query, h, body, public_key_resolver, now, max_skew)
    raise SignatureError("The request is not signed: it has no Signature header", "missing")


def _verify_cavage(method, path, h, body, resolver, now, max_skew) -> VerifiedSignature:
    params = _signature_params(h["signature"])
    key_id, signature = params.get("keyid"), params.get("signature")
    if not key_id or not signature:
        raise SignatureError("The Signature header lacks keyId or signature")
    algorithm = (params.get("algorithm") or "hs2019").lower()
    # hs2019 leaves the algorithm to the key; for the fediverse's RSA keys that is
    # RSASSA-PKCS1-v1_5 with SHA-256, as Mastodon assumes.
    if algorithm not in ("rsa-sha256", "hs2019"):
        raise SignatureError(f"Signature algorithm {algorithm!r} is not supported; use rsa-sha256 "
                             "or hs2019", "unsupported", key_id)
    covered = tuple(params.get("headers", "date").lower().split())
    needed = ["(request-target)"]  # without it, method and path are not authenticated
    if "(created)" not in covered:
        needed.append("date")
    if method == "POST" or body:
        needed.append("digest")
    if method in ("GET", "HEAD"):
        needed.append("host")
    _require(needed, covered, method, key_id)

    values = dict(h)  # httpsig reads the (created)/(expires) pseudo-headers like headers
    for pseudo in ("created", "expires"):
        if f"({pseudo})" in covered:
            if not str(params.get(pseudo, "")).isdigit():
                raise SignatureError(f"({pseudo}) is signed but has no {pseudo} parameter", key_id=key_id)
            values[f"({pseudo})"] = params[pseudo]
    if "(created)" in covered:
        signed_at, what = _from_unix(params["created"]), "created"
    else:
        try:
            signed_at, what = email.utils.parsedate_to_datetime(h["date"]), "Date"
        except (KeyError, TypeError, ValueError):
            signed_at = None
        if signed_at is None or signed_at.tzinfo is None:
            raise SignatureError(f"Date header {h.get('date')!r} is not an HTTP date", key_id=key_id)
    _check_time(signed_at, what, now, max_skew, key_id)
    if "(expires)" in covered and now > _from_unix(params["expires"]):
        raise SignatureError("The signature has expired ((expires) is in the past)", "expired", key_id)
    _check_digests(h, body, key_id)

    verifier = _cavage_verifier(_resolve(resolver, key_id))
    try:
        message = httpsig.utils.generate_message(list(covered), values, method=method, path=path)
    except Exception as exc:  # httpsig raises a bare Exception for a missing header
        raise SignatureError(f"A signed header is missing from the request: {exc}", key_id=key_id) from exc
    try:
        ok = verifier._verify(message, signature)  # HeaderVerifier would re-parse the PEM each time
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise SignatureError(f"The signature does not match this request ({method} {path}, signed "
                             f"headers {' '.join(covered)}) under key {key_id}", "bad_signature", key_id)
    return VerifiedSignature(key_id, "draft-cavage", algorithm, covered, signed_at)


@functools.lru_cache(maxsize=2048)
def _cavage_verifier(public_pem: str) -> httpsig.verify.Verifier:
    return httpsig.verify.Verifier(public_pem, algorithm="rsa-sha256")


class _NoClockVerifier(HTTPMessageVerifier):
    # The library checks created/expires against the real clock with 5 s of skew; we check them
    # ourselves, with the injectable clock and the configured window.
    def validate_created_and_expires(self, sig_input, max_age=None):
        return None


def _verify_rfc9421(method, path, h, body, resolver, now, max_skew, url) -> VerifiedSignature:
    claimed = signature_key_id(h)
    _check_digests(h, body, claimed)

    class Keys:  # asked by the library for the keyid it parsed
        @staticmethod
        def resolve_public_key(key_id: str):
            return load_rsa_public_key(_resolve(resolver, key_id))

    verifier = _NoClockVerifier(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=Keys())
    try:
        # Digests were checked above and their coverage is checked below, with clearer messages.
        result = verifier.verify(SimpleNamespace(method=method, url=url, headers=h), max_age=None)[0]
    except HTTPMessageSignaturesException as exc:
        if isinstance(exc.__cause__, SignatureError):  # raised by Keys, wrapped by the library
            raise exc.__cause__ from None
        if isinstance(exc.__cause__, cryptography.exceptions.InvalidSignature):
            raise SignatureError(f"The RFC 9421 signature does not match this request ({method} {url}) "
                                 f"under key {claimed}", "bad_signature", claimed) from exc
        raise SignatureError(f"Malformed RFC 9421 signature: {exc}", key_id=claimed) from exc
    params, key_id = result.parameters, result.parameters["keyid"]
    covered = tuple(c.split(";")[0].strip('"') for c in result.covered_components
                    if c != '"@signature-params"')
    needed = ["@method"]
    if not {"@path", "@authority"} <= set(covered):
        needed.append("@target-uri")
    if "?" in path and "@target-uri" not in covered:
        needed.append("@query")
    if method == "POST" or body:
        needed.append("content-digest")
    _require(needed, covered, method, key_id)
    if "created" not in params:
        raise SignatureError("The RFC 9421 signature has no created parameter", key_id=key_id)
    signed_at = _from_unix(params["created"])
    _check_time(signed_at, "created", now, max_skew, key_id)
    if "expires" in params and now > _from_unix(params["expires"]):
        raise SignatureError("The signature has expired (expires is in the past)", "expired", key_id)
    return VerifiedSignature(key_id, "rfc9421", params.get("alg", "rsa-v1_5-sha256"), covered, signed_at)


# --- shared checks -------------------------------------------------------------------------------


def _require(needed: list[str], covered: tuple[str, ...], method: str, key_id: str | None) -> None:
    missing = [name for name in needed if name not in covered]
    if missing:
        raise SignatureError(f"The signature must cover {', '.join(missing)} on a {method} request; "
                             f"it covers only {' '.join(covered) or 'nothing'}", "insufficient_coverage", key_id)


def _check_digests(h: Mapping[str, str], body: bytes | None, key_id: str | None) -> None:
    """Every body digest the request carries must match the raw body bytes."""
    if "digest" in h:
        values = dict(part.strip().partition("=")[::2] for part in h["digest"].split(","))
        wanted = next((v.strip() for k, v in values.items() if k.lower() == "sha-256"), None)
        if wanted is None:
            raise SignatureError("The Digest header has no SHA-256 value", "digest_mismatch", key_id)
        if not hmac.compare_digest(wanted, digest_header(body or b"")[len("SHA-256="):]):
            raise SignatureError("Digest header does not match the body", "digest_mismatch", key_id)
    if "content-digest" in h:
        try:
            ContentDigest.verify(h["content-digest"], body or b"")
        except HTTPMessageSignaturesException as exc:
            reason = ("Content-Digest header does not match the body" if "does not match" in str(exc)
                      else f"Content-Digest header is unusable: {exc}")
            raise SignatureError(reason, "digest_mismatch", key_id) from exc


def _check_time(signed_at: datetime, what: str, now: datetime, max_skew: timedelta, key_id: str) -> None:
    age, limit = now - signed_at, _human(max_skew)
    if age > max_skew:
        raise SignatureError(f"{what} is {_human(age)} old; the limit is {limit}", "stale", key_id)
    if -age > max_skew:
        raise SignatureError(f"{what} is {_human(-age)} in the future; the limit is {limit}", "stale", key_id)


def _human(delta: timedelta) -> str:
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def _resolve(resolver: PublicKeyResolver, key_id: str) -> str:
    """The key's PEM, checked to be a usable RSA key (parsed once, then cached)."""
    pem = resolver(key_id)
    if pem is None:
        raise SignatureError(f"No public key is known for keyId {key_id}", "unknown_key", key_id)
    try:
        load_rsa_public_key(pem)
    except KeyFormatError as exc:
        raise SignatureError(f"The public key of {key_id} is unusable: {exc}", "unknown_key", key_id) from exc
    return pem


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():  # a multidict repeats names: combine them as HTTP does
        name = str(name).lower()
        out[name] = f"{out[name]}, {value}" if name in out else str(value)
    return out


def _from_unix(value) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)
