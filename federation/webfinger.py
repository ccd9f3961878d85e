"""WebFinger (RFC 7033) with ``acct:`` URIs (RFC 7565), and host-meta (RFC 6415).

Fediverse software finds ``@budget-2027@city.example`` by asking
``https://city.example/.well-known/webfinger?resource=acct:budget-2027@city.example`` and
following the ``self`` link whose type is ActivityPub JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import quoteattr

from .vocab import ACTIVITY_JSON, JRD_JSON, is_activity_json

__all__ = ["JRD_JSON", "PROFILE_PAGE_REL", "WebFingerError", "acct_uri", "actor_url_from_jrd",
           "host_meta_xml", "parse_acct", "resolve_webfinger", "webfinger_document", "webfinger_url"]

PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
# Characters that never appear in a user part or host we accept: keeps "a@b@c", paths and
# whitespace from being read as something else.
_FORBIDDEN = frozenset("/?#@ \t\r\n\\")


class WebFingerError(ValueError):
    """An unusable account address or WebFinger answer; the message says what is wrong."""


def parse_acct(value: str) -> tuple[str, str]:
    """``@name@host``, ``name@host`` or ``acct:name@host`` -> ``(name, host)``.

    The host is lower-cased (DNS is case-insensitive); the name is kept as written, as servers
    decide themselves whether names are case-sensitive.  ``host:port`` is accepted for LAN and
    test federation."""
    if not isinstance(value, str):
        raise WebFingerError("an account address must be text")
    text = value.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    elif text.startswith("@"):
        text = text[1:]
    name, sep, host = text.rpartition("@")
    if not sep or not name or not host:
        raise WebFingerError(f"{value!r} is not an account address like @name@host")
    if _FORBIDDEN & set(name) or _FORBIDDEN & set(host):
        raise WebFingerError(f"{value!r} is not an account address like @name@host")
    name = unquote(name)  # RFC 7565 percent-encodes the user part
    if any(ch.isspace() or not ch.isprintable() for ch in name):
        raise WebFingerError(f"{value!r} has an unprintable user name")
    return name, host.lower().rstrip(".")


def acct_uri(name: str, host: str) -> str:
    return f"acct:{quote(name, safe='-._~!$&()*+,;=')}@{host}"


def webfinger_url(host: str, resource: str, scheme: str = "https") -> str:
    return f"{scheme}://{host}/.well-known/webfinger?resource={quote(resource, safe=':@')}"


def webfinger_document(subject: str, actor_url: str, profile_url: str | None = None,
                       aliases: Iterable[str] = ()) -> dict[str, Any]:
    """The JRD for one actor: the ``self`` link is what ActivityPub servers follow, the
    profile page what people (and Mastodon's "open in browser") see."""
    links: list[dict[str, str]] = [{"rel": "self", "type": ACTIVITY_JSON, "href": actor_url}]
    if profile_url:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    all_aliases = [actor_url, *([profile_url] if profile_url and profile_url != actor_url else []), *aliases]
    return {"subject": subject, "aliases": list(dict.fromkeys(all_aliases)), "links": links}


def host_meta_xml(base_url: str) -> str:
    """host-meta (XRD) pointing at our WebFinger endpoint, for older software that looks here
    first; the ``{uri}`` placeholder is literal, the client fills it in."""
    template = base_url.rstrip("/") + "/.well-known/webfinger?resource={uri}"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
            f'  <Link rel="lrdd" type="application/xrd+xml" template={quoteattr(template)}/>\n'
            '</XRD>\n')


def actor_url_from_jrd(jrd: Mapping[str, Any]) -> str:
    """The ActivityPub actor a JRD points to.  The actor may live on another host than the
    account (Mastodon's WEB_DOMAIN): whoever uses it must fetch the actor and check it."""
    links = jrd.get("links") if isinstance(jrd, Mapping) else None
    for link in links if isinstance(links, list) else []:
        if (isinstance(link, Mapping) and link.get("rel") == "self" and is_activity_json(link.get("type"))
                and isinstance(link.get("href"), str) and link["href"].startswith(("https://", "http://"))):
            return link["href"]
    raise WebFingerError(f"the WebFinger answer for {jrd.get('subject')!r} has no ActivityPub self link")


async def resolve_webfinger(fetcher, acct: str) -> str:
    """Resolve an account address to its actor URL with a
    :class:`federation.fetch.SafeFetcher`.  Over https; plain http is tried too only when the
    fetcher is set up for LAN/test federation (``allow_private``), where nodes may lack TLS."""
    from .fetch import FetchError  # local import: this module's builders need no HTTP client

    name, host = parse_acct(acct)
    resource = acct_uri(name, host)
    schemes = ("https", "http") if fetcher.allow_private else ("https",)
    for scheme in schemes:
        try:
            jrd = await fetcher.get_json(webfinger_url(host, resource, scheme),
                                         accept=f"{JRD_JSON}, application/json")
        except FetchError as exc:
            if exc.code == "connection" and scheme != schemes[-1]:
                continue  # no TLS on this LAN node: try the next scheme
            raise
        return actor_url_from_jrd(jrd)
    raise AssertionError("unreachable")  # pragma: no cover
