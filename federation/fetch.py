"""An SSRF-safe HTTP client for fetching remote actors/objects and for delivering activities.

Every URL we fetch comes from someone else (an actor document, a keyId, an inbox address), so a
hostile peer could point us at our own network: the admin panel on 127.0.0.1, a database on
10.0.0.5, the cloud metadata service on 169.254.169.254.  The client refuses that:

* only ``http``/``https`` URLs without credentials;
* the address actually connected to must be public.  The check is made where aiohttp resolves
  and connects (a guarding resolver, plus a socket factory for IP literals and anything that
  bypasses the resolver), never as a separate look-up before the request: a DNS answer that
  changes between a check and the connection ("DNS rebinding") therefore cannot slip through;
* redirects are followed by hand, at most ``max_redirects``, and every target is checked again
  (and goes through the same guarded connector); https never downgrades to http;
* bodies are streamed and abandoned past ``max_bytes``; the whole exchange, redirects included,
  must finish within ``timeout`` seconds.

``allow_private=True`` lifts the address check for LAN or test federation; ``allow_networks``
opens only listed networks (a partner node on the LAN) while keeping the rest closed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict
from yarl import URL

from .addresses import AddressPolicy, BlockedAddressError, GuardedResolver, guarded_socket_factory, parse_ip
from .signatures import sign_request
from .vocab import ACTIVITY_JSON, AP_ACCEPT, is_json, json_depth

__all__ = ["AddressPolicy", "BlockedAddressError", "FetchError", "FetchedDocument",
           "GuardedResolver", "PostResponse", "SafeFetcher", "Signer"]

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = MIB
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_REDIRECTS = 5
# A delivery answer is only kept for logs: read this much of it, never fail because of it.
POST_ANSWER_BYTES = 16 * 1024
# Deeper JSON than this is not a real ActivityPub document but an attempt to exhaust the reader.
MAX_JSON_DEPTH = 64
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A fetch or delivery failed.  ``str(err)`` is for people; ``code`` for programs:
    invalid_url, blocked_address, too_many_redirects, bad_redirect, timeout, connection,
    http_status (see ``status``), too_large, not_json."""

    def __init__(self, reason: str, code: str, *, status: int | None = None):
        super().__init__(reason)
        self.reason, self.code, self.status = reason, code, status

    @property
    def transient(self) -> bool:
        """Worth retrying later (the delivery worker's question)."""
        if self.code == "http_status":
            return self.status is not None and (self.status >= 500 or self.status in (401, 408, 429))
        return self.code in ("timeout", "connection")


class SignerLike(Protocol):
    key_id: str
    private_pem: str


@dataclass(frozen=True)
class Signer:
    """The key a request is signed with (draft-cavage rsa-sha256)."""

    key_id: str
    private_pem: str = field(repr=False)  # keep private keys out of logs


class FetchedDocument(NamedTuple):
    url: str  # after redirects: what origin checks must compare against
    status: int
    content_type: str
    data: dict[str, Any]


class PostResponse(NamedTuple):
    status: int
    headers: CIMultiDict
    text: str  # at most POST_ANSWER_BYTES of the answer, for logs


class SafeFetcher:
    """One per node (it keeps a connection pool); close it on shutdown."""

    def __init__(self, *, allow_private: bool = False, allow_networks: Iterable[str] = (),
                 max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT,
                 max_redirects: int = DEFAULT_MAX_REDIRECTS, user_agent: str = "civicnode",
                 max_connections: int = 100, resolver: AbstractResolver | None = None):
        """``resolver`` replaces system DNS (tests map fake public names with it); whatever it
        answers still goes through the address policy.  The fetcher owns and closes it."""
        self.policy = AddressPolicy.make(allow_private, allow_networks)
        self.max_bytes, self.timeout, self.max_redirects = max_bytes, timeout, max_redirects
        self.user_agent, self._max_connections = user_agent, max_connections
        self._resolver = GuardedResolver(self.policy, resolver)
        self._session: aiohttp.ClientSession | None = None

    @property
    def allow_private(self) -> bool:
        return self.policy.allow_private

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:  # created lazily: it must be made inside the running loop
            connector = aiohttp.TCPConnector(resolver=self._resolver, limit=self._max_connections,
                                             socket_factory=guarded_socket_factory(self.policy))
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # an environment proxy would connect to hosts we never checked
                cookie_jar=aiohttp.DummyCookieJar(),  # never carry one server's cookies to another
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._resolver.close()

    async def __aenter__(self) -> SafeFetcher:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    # --- public API ------------------------------------------------------------------------------

    async def get_json(self, url: str, signer: SignerLike | None = None, *, accept: str = AP_ACCEPT) -> dict:
        return (await self.get_document(url, signer, accept=accept)).data

    async def get_document(self, url: str, signer: SignerLike | None = None, *,
                           accept: str = AP_ACCEPT) -> FetchedDocument:
        """GET a JSON object, following checked redirects; a signed GET is re-signed per hop
        because ``(request-target)`` and ``host`` change."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._get_document(url, signer, accept)
        except TimeoutError:
            raise FetchError(f"no complete answer from {url} within {self.timeout:g} s", "timeout") from None

    async def post(self, url: str, body: bytes | Mapping[str, Any], headers: Mapping[str, str] | None = None,
                   signer: SignerLike | None = None, *, content_type: str = ACTIVITY_JSON) -> PostResponse:
        """POST (deliver) a body.  Redirects are not followed: re-sending a signed activity to
        wherever a server points would need a new signature and could bounce our traffic at a
        third party; the 3xx is returned for the caller to log."""
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        target = self._check_url(url)
        sent = {"Content-Type": content_type, "User-Agent": self.user_agent, **(headers or {})}
        if signer is not None:
            sent = sign_request("POST", str(target), sent, data, signer.key_id, signer.private_pem)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._request("POST", target, sent, data) as response:
                    raw = await self._read(response, target, POST_ANSWER_BYTES, truncate=True)
                    text = raw.decode(response.charset or "utf-8", errors="replace")
                    return PostResponse(response.status, response.headers.copy(), text)
        except TimeoutError:
            raise FetchError(f"no answer from {url} within {self.timeout:g} s", "timeout") from None
        except aiohttp.ClientError as exc:
            raise _client_error(exc, target) from exc

    # --- internals -------------------------------------------------------------------------------

    async def _get_document(self, url: str, signer: SignerLike | None, accept: str) -> FetchedDocument:
        current = self._check_url(url)
        for _ in range(self.max_redirects + 1):
            headers = {"Accept": accept, "User-Agent": self.user_agent}
            if signer is not None:
                headers = sign_request("GET", str(current), headers, None, signer.key_id, signer.private_pem)
            try:
                async with self._request("GET", current, headers, None) as response:
                    if response.status in _REDIRECTS:
                        current = self._redirect_target(current, response.headers.get("Location"))
                        continue
                    body = await self._read(response, current, self.max_bytes)
                    if not 200 <= response.status < 300:
                        raise FetchError(f"GET {current} answered HTTP {response.status}", "http_status",
                                         status=response.status)
                    content_type = response.headers.get("Content-Type", "")
                    return FetchedDocument(str(current), response.status, content_type,
                                           _parse_json(body, content_type, current))
            except aiohttp.ClientError as exc:
                raise _client_error(exc, current) from exc
        raise FetchError(f"more than {self.max_redirects} redirects from {url}", "too_many_redirects")

    def _request(self, method: str, url: URL, headers: Mapping[str, str], data: bytes | None):
        return self._get_session().request(method, url, headers=headers, data=data,
                                           allow_redirects=False, auto_decompress=True)

    def _check_url(self, url: str | URL) -> URL:
        """What can be checked before connecting; addresses of names are checked at connect."""
        try:
            parsed = url if isinstance(url, URL) else URL(url)
        except (ValueError, TypeError) as exc:
            raise FetchError(f"refusing to fetch {url!r}: not a URL ({exc})", "invalid_url") from None
        if parsed.scheme not in ("http", "https"):
            raise FetchError(f"refusing to fetch {url}: only http and https URLs are fetched", "invalid_url")
        if not parsed.host:
            raise FetchError(f"refusing to fetch {url}: no host", "invalid_url")
        if parsed.user is not None or parsed.password is not None:
            raise FetchError(f"refusing to fetch {url}: credentials in the URL", "invalid_url")
        ip = parse_ip(parsed.host)
        reason = self.policy.refusal(ip) if ip is not None else None
        if reason:
            raise FetchError(f"refusing to fetch {url}: {reason}", "blocked_address")
        return parsed

    def _redirect_target(self, current: URL, location: str | None) -> URL:
        if not location:
            raise FetchError(f"{current} redirects without a Location", "bad_redirect")
        try:
            target = current.join(URL(location))
        except (ValueError, TypeError):
            raise FetchError(f"{current} redirects to an unusable Location {location!r}", "bad_redirect") from None
        if current.scheme == "https" and target.scheme == "http":
            raise FetchError(f"refusing redirect from {current} to {target}: https to http", "bad_redirect")
        return self._check_url(target)

    async def _read(self, response: aiohttp.ClientResponse, url: URL, limit: int, *, truncate: bool = False) -> bytes:
        """Stream the body, stopping past ``limit`` bytes (decompressed: a gzip bomb counts in
        full), so a hostile server cannot make us buffer more than that."""
        too_large = FetchError(f"response from {url} larger than {_size(limit)}", "too_large")
        if not truncate and response.content_length is not None and response.content_length > limit:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                raise too_large
        return bytes(body)


def _parse_json(body: bytes, content_type: str, url: URL) -> dict[str, Any]:
    if not is_json(content_type):
        raise FetchError(f"{url} answered {content_type or 'no Content-Type'}, not JSON", "not_json")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FetchError(f"{url} answered invalid JSON: {str(exc)[:100]}", "not_json") from None
    if not isinstance(data, dict):
        raise FetchError(f"{url} answered JSON that is not an object", "not_json")
    if json_depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise FetchError(f"{url} answered JSON nested deeper than {MAX_JSON_DEPTH} levels", "not_json")
    return data


def _client_error(exc: BaseException, url: URL) -> FetchError:
    blocked = _find_blocked(exc)
    if blocked is not None:
        return FetchError(f"refusing to fetch {url}: {blocked.reason}", "blocked_address")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(f"refusing to fetch {url}: invalid URL ({exc})", "invalid_url")
    if isinstance(exc, TimeoutError):
        return FetchError(f"no answer from {url} in time", "timeout")
    return FetchError(f"could not fetch {url}: {exc or type(exc).__name__}", "connection")


def _find_blocked(exc: BaseException | None) -> BlockedAddressError | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, BlockedAddressError):
            return exc
        os_error = getattr(exc, "os_error", None)
        if isinstance(os_error, BlockedAddressError):
            return os_error
        exc = exc.__cause__ or exc.__context__
    return None


def _size(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"
