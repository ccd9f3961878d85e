"""HTTP Signatures for server-to-server requests.

Outgoing requests are signed with draft-cavage-12 ``rsa-sha256`` (what Mastodon and nearly every
fediverse server verify), using ``httpsig``.  Incoming requests may carry either draft-cavage
(``rsa-sha256`` or ``hs2019``, checked with ``httpsig``) or RFC 9421 HTTP Message Signatures
(checked with ``http-message-signatures``).  Neither library checks the things that make a
signature mean anything for ActivityPub, so this module does: the body digest, the age of the
signature, and which parts of the request it covers.

Framework-neutral: callers pass method, path, headers and body bytes.  Key lookup is a plain
callable ``key_id -> public PEM | None``; an async caller fetches the key first (see
:func:`signature_key_id`) and then hands a resolver that returns it.
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
from urllib.parse import urlsplit

import http_sf
import httpsig
import httpsig.utils
import httpsig.verify
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.digests import ContentDigest
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from .keys import KeyFormatError, load_rsa_public_key

__all__ = [
    "DEFAULT_MAX_SKEW",
    "SignatureError",
    "VerifiedSignature",
    "digest_header",
    "sign_request",
    "signature_key_id",
    "verify_request",
]

# Mastodon accepts a Date-only signature for 5 min + 1 h clock-skew margin.
DEFAULT_MAX_SKEW = timedelta(hours=1, minutes=5)
POST_HEADERS = ("(request-target)", "host", "date", "digest")
GET_HEADERS = ("(request-target)", "host", "date")
PublicKeyResolver = Callable[[str], "str | None"]


class SignatureError(Exception):
    """The request is not acceptably signed.  ``str(err)`` is meant for a person (log, 401 body);
    ``code`` is for programs, e.g. re-fetch the actor's key on ``bad_signature``."""

    def __init__(self, reason: str, code: str = "invalid", key_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.key_id = key_id


@dataclass(frozen=True)
class VerifiedSignature:
    key_id: str
    scheme: str  # "draft-cavage" or "rfc9421"
    algorithm: str
    covered: tuple[str, ...]  # signed headers / components, lower-case, as the signer listed them
    signed_at: datetime  # from Date or created


# --- signing -------------------------------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """The draft-cavage ``Digest`` header value for a body."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


@functools.lru_cache(maxsize=64)
def _header_signer(key_id: str, private_pem: str, headers: tuple[str, ...]) -> httpsig.HeaderSigner:
    # httpsig re-imports the PEM in its constructor; one signer per (key, header list) avoids
    # doing that for every delivery.
    return httpsig.HeaderSigner(
        key_id, private_pem, algorithm="rsa-sha256", headers=list(headers), sign_header="signature"
    )


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
    ``(request-target) host date``.  ``(request-target)`` includes the query string, as
    Mastodon expects.  ``signed_headers`` overrides the list (for tests and odd peers).
    """
    method = method.upper()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"cannot sign a request to {url!r}: need an absolute http(s) URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    out = {k: v for k, v in (headers or {}).items()}
    lower = {k.lower(): k for k in out}

    def put(name: str, value: str) -> None:
        out.pop(lower.get(name.lower(), name), None)
        out[name] = value

    if "host" not in lower:
        default_port = {"http": 80, "https": 443}[parts.scheme]
        host = parts.hostname if parts.port in (None, default_port) else f"{parts.hostname}:{parts.port}"
        put("Host", host)
    put("Date", email.utils.format_datetime(_utc(now), usegmt=True))
    if body is None and method == "POST":
        body = b""
    if body is not None:
        put("Digest", digest_header(body))
    if signed_headers is None:
        signed_headers = POST_HEADERS if body is not None else GET_HEADERS
    signer = _header_signer(key_id, private_pem, tuple(h.lower() for h in signed_headers))
    signed = signer.sign(out, method=method, path=target)
    put("Signature", signed["signature"])
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
        for _components, params in inputs.values():
            if isinstance(params.get("keyid"), str):
                return params["keyid"]
        return None
    if "signature" in h:
        return httpsig.utils.parse_signature_header(h["signature"]).get("keyid")
    return None


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
    """Verify an incoming request's signature, or raise :class:`SignatureError`.

    ``path_with_query`` is the request target exactly as received.  ``host`` overrides the Host
    header when rebuilding the target URI for RFC 9421 (behind a proxy that rewrites it).
    """
    method = method.upper()
    h = _lower(headers)
    now = _utc(now)
    if method == "POST" and body is None:
        body = b""
    if "signature-input" in h:
        return _verify_rfc9421(method, path_with_query, h, body, public_key_resolver, now, max_skew, scheme, host)
    if "signature" in h:
        return _verify_cavage(method, path_with_query, h, body, public_key_resolver, now, max_skew)
    raise SignatureError("The request is not signed: it has no Signature header", "missing")


def _verify_cavage(method, path, h, body, resolver, now, max_skew) -> VerifiedSignature:
    params = httpsig.utils.parse_signature_header(h["signature"])
    key_id, signature = params.get("keyid"), params.get("signature")
    if not key_id or not signature:
        raise SignatureError("The Signature header lacks keyId or signature", "malformed")
    algorithm = (params.get("algorithm") or "hs2019").lower()
    # hs2019 hides the algorithm in the key; for the RSA keys of the fediverse that means
    # RSASSA-PKCS1-v1_5 with SHA-256, which is what Mastodon assumes too.
    if algorithm not in ("rsa-sha256", "hs2019"):
        raise SignatureError(
            f"Signature algorithm {algorithm!r} is not supported; use rsa-sha256 or hs2019",
            "unsupported", key_id,
        )
    covered = tuple(params.get("headers", "date").lower().split())
    _require_cavage_coverage(method, covered, key_id)

    values = dict(h)  # httpsig reads (created)/(expires) like ordinary headers
    for pseudo in ("created", "expires"):
        if f"({pseudo})" in covered:
            if not str(params.get(pseudo, "")).isdigit():
                raise SignatureError(f"({pseudo}) is signed but the {pseudo} parameter is missing", "malformed", key_id)
            values[f"({pseudo})"] = params[pseudo]
    if "(created)" in covered:
        signed_at, what = _from_unix(params["created"]), "created"
    else:
        if "date" not in h:
            raise SignatureError("Date is signed but the request has no Date header", "malformed", key_id)
        try:
            signed_at, what = email.utils.parsedate_to_datetime(h["date"]), "Date"
        except (TypeError, ValueError):
            signed_at = None
        if signed_at is None or signed_at.tzinfo is None:
            raise SignatureError(f"Date header {h['date']!r} is not an HTTP date", "malformed", key_id)
    _check_time(signed_at, what, now, max_skew, key_id)
    if "(expires)" in covered and now > _from_unix(params["expires"]):
        raise SignatureError("The signature has expired ((expires) is in the past)", "expired", key_id)
    _check_digests(h, body, key_id)

    verifier = _cavage_verifier(_resolve(resolver, key_id))
    try:
        message = httpsig.utils.generate_message(list(covered), values, method=method, path=path)
    except Exception as exc:  # httpsig raises bare Exception for a missing header
        raise SignatureError(f"A signed header is missing from the request: {exc}", "malformed", key_id) from exc
    try:
        ok = verifier._verify(message, signature)  # public API would re-parse the PEM per request
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise SignatureError(
            f"The signature does not match this request ({method} {path}, signed headers "
            f"{' '.join(covered)}) under key {key_id}", "bad_signature", key_id,
        )
    return VerifiedSignature(key_id, "draft-cavage", algorithm, covered, signed_at)


def _require_cavage_coverage(method: str, covered: tuple[str, ...], key_id: str) -> None:
    missing = []
    if "(request-target)" not in covered:
        missing.append("(request-target)")  # else method and path are not authenticated
    if "date" not in covered and "(created)" not in covered:
        missing.append("date")
    if method == "POST" and "digest" not in covered:
        missing.append("digest")
    if method in ("GET", "HEAD") and "host" not in covered:
        missing.append("host")
    if missing:
        raise SignatureError(
            f"The signature must cover {', '.join(missing)} on a {method} request; it covers only "
            f"{' '.join(covered) or 'nothing'}", "insufficient_coverage", key_id,
        )


@functools.lru_cache(maxsize=2048)
def _cavage_verifier(public_pem: str) -> httpsig.verify.Verifier:
    load_rsa_public_key(public_pem)  # clear error for a non-RSA or broken key
    return httpsig.verify.Verifier(public_pem, algorithm="rsa-sha256")


class _Request:
    """The minimal message object http-message-signatures reads."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str]):
        self.method, self.url, self.headers = method, url, headers


class _NoClockVerifier(HTTPMessageVerifier):
    # The library checks created/expires against the real clock with 5 s skew; we check them
    # ourselves with the injectable clock and the configured window.
    def validate_created_and_expires(self, sig_input, max_age=None):
        return None


def _verify_rfc9421(method, path, h, body, resolver, now, max_skew, scheme, host) -> VerifiedSignature:
    authority = host or h.get("host")
    if not authority:
        raise SignatureError("Cannot rebuild the target URI: the request has no Host header", "malformed")
    wanted: list[str] = []

    class Keys:
        @staticmethod
        def resolve_public_key(key_id: str):
            wanted.append(key_id)
            pem = resolver(key_id)
            return None if pem is None else _rsa_key(pem, key_id)

    _check_digests(h, body, signature_key_id(h))
    verifier = _NoClockVerifier(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=Keys())
    request = _Request(method, f"{scheme}://{authority}{path}", h)
    try:
        result = verifier.verify(request, max_age=None, body=body)[0]
    except HTTPMessageSignaturesException as exc:
        if isinstance(exc.__cause__, SignatureError):  # raised by Keys, wrapped by the library
            raise exc.__cause__ from None
        key_id = wanted[0] if wanted else None
        if key_id and "Unable to resolve verification key" in str(exc):
            raise SignatureError(f"No public key is known for keyId {key_id}", "unknown_key", key_id) from exc
        code = "bad_signature" if key_id else "malformed"
        raise SignatureError(f"RFC 9421 signature rejected: {exc}", code, key_id) from exc
    params = result.parameters
    key_id = params["keyid"]
    covered = tuple(c.split(";")[0].strip('"') for c in result.covered_components)
    missing = [] if "@method" in covered else ["@method"]
    if "@target-uri" not in covered and not {"@path", "@authority"} <= set(covered):
        missing.append("@target-uri (or @authority and @path)")
    if "?" in path and "@target-uri" not in covered and "@query" not in covered:
        missing.append("@query")
    if method == "POST" and "content-digest" not in covered:
        missing.append("content-digest")
    if missing:
        raise SignatureError(
            f"The signature must cover {', '.join(missing)} on a {method} request; it covers only "
            f"{' '.join(covered)}", "insufficient_coverage", key_id,
        )
    if "created" not in params:
        raise SignatureError("The RFC 9421 signature has no created parameter", "malformed", key_id)
    signed_at = _from_unix(params["created"])
    _check_time(signed_at, "created", now, max_skew, key_id)
    if "expires" in params and now > _from_unix(params["expires"]):
        raise SignatureError("The signature has expired (expires is in the past)", "expired", key_id)
    return VerifiedSignature(key_id, "rfc9421", params.get("alg", "rsa-v1_5-sha256"), covered, signed_at)


# --- shared checks -------------------------------------------------------------------------------


def _check_digests(h: Mapping[str, str], body: bytes | None, key_id: str | None) -> None:
    """Every body digest the request carries must match the raw body bytes."""
    if "digest" in h:
        wanted = None
        for part in h["digest"].split(","):
            algo, _, value = part.strip().partition("=")
            if algo.lower() == "sha-256":
                wanted = value.strip()
        if wanted is None:
            raise SignatureError("The Digest header has no SHA-256 value", "digest_mismatch", key_id)
        actual = digest_header(body or b"").partition("=")[2]
        if not hmac.compare_digest(wanted, actual):
            raise SignatureError("Digest header does not match the body", "digest_mismatch", key_id)
    if "content-digest" in h:
        try:
            ContentDigest.verify(h["content-digest"], body or b"")
        except HTTPMessageSignaturesException as exc:
            raise SignatureError(f"Content-Digest header does not match the body ({exc})", "digest_mismatch", key_id) from exc


def _check_time(signed_at: datetime, what: str, now: datetime, max_skew: timedelta, key_id: str) -> None:
    age = now - signed_at
    if age > max_skew:
        raise SignatureError(f"{what} is {_human(age)} old; the limit is {_human(max_skew)}", "stale", key_id)
    if -age > max_skew:
        raise SignatureError(
            f"{what} is {_human(-age)} in the future; the limit is {_human(max_skew)}", "stale", key_id
        )


def _human(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def _resolve(resolver: PublicKeyResolver, key_id: str) -> str:
    pem = resolver(key_id)
    if pem is None:
        raise SignatureError(f"No public key is known for keyId {key_id}", "unknown_key", key_id)
    _rsa_key(pem, key_id)
    return pem


def _rsa_key(pem: str, key_id: str):
    try:
        return load_rsa_public_key(pem)
    except KeyFormatError as exc:
        raise SignatureError(f"The public key of {key_id} is unusable: {exc}", "unknown_key", key_id) from exc


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _from_unix(value) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)
