"""NodeInfo 2.1 (https://nodeinfo.diaspora.software, schema ``ns/schema/2.1``).

Directories and other servers read it to learn what software a node runs and how busy it is.
The schema is strict (closed enums, ``additionalProperties: false``), so the builder validates
its own output: a malformed document would be silently ignored by crawlers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["NODEINFO_20_REL", "NODEINFO_21_CONTENT_TYPE", "NODEINFO_21_REL", "nodeinfo_document",
           "nodeinfo_links", "nodeinfo_url_from_links", "validate_nodeinfo"]

NODEINFO_20_REL = "http://nodeinfo.diaspora.software/ns/schema/2.0"
NODEINFO_21_REL = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_21_CONTENT_TYPE = f'application/json; profile="{NODEINFO_21_REL}#"'
# The schema's closed list of protocols.
PROTOCOLS = frozenset({"activitypub", "buddycloud", "dfrn", "diaspora", "libertree", "ostatus",
                       "pumpio", "tent", "xmpp", "zot"})
_SOFTWARE_NAME = re.compile(r"^[a-z0-9-]+$")
_TOP_KEYS = ("version", "software", "protocols", "services", "openRegistrations", "usage", "metadata")


def nodeinfo_links(base_url: str) -> dict[str, Any]:
    """The JRD served at ``/.well-known/nodeinfo``."""
    return {"links": [{"rel": NODEINFO_21_REL, "href": base_url.rstrip("/") + "/nodeinfo/2.1"}]}


def nodeinfo_document(
    software_name: str, version: str, *, protocols: Iterable[str] = ("activitypub",),
    users_total: int, users_active_month: int, users_active_halfyear: int, local_posts: int,
    open_registrations: bool, metadata: Mapping[str, Any] | None = None,
    local_comments: int | None = None, repository: str | None = None, homepage: str | None = None,
) -> dict[str, Any]:
    """A NodeInfo 2.1 document; raises ValueError if it would not validate."""
    software: dict[str, str] = {"name": software_name, "version": version}
    if repository:
        software["repository"] = repository
    if homepage:
        software["homepage"] = homepage
    usage: dict[str, Any] = {
        "users": {"total": users_total, "activeMonth": users_active_month,
                  "activeHalfyear": users_active_halfyear},
        "localPosts": local_posts,
    }
    if local_comments is not None:
        usage["localComments"] = local_comments
    doc = {
        "version": "2.1",
        "software": software,
        "protocols": list(protocols),
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": usage,
        "metadata": dict(metadata or {}),
    }
    problems = validate_nodeinfo(doc)
    if problems:
        raise ValueError("invalid NodeInfo document: " + "; ".join(problems))
    return doc


def validate_nodeinfo(doc: Any) -> list[str]:
    """Check a document against the NodeInfo 2.1 schema's structure; returns the problems
    (empty when valid).  Hand-written so that no JSON Schema library is needed at run time;
    the service enums are not checked (we never publish services)."""
    if not isinstance(doc, Mapping):
        return ["not a JSON object"]
    problems = [f"missing {key}" for key in _TOP_KEYS if key not in doc]
    problems += [f"unexpected key {key}" for key in doc if key not in _TOP_KEYS]
    if doc.get("version", "2.1") != "2.1":
        problems.append("version must be '2.1'")
    software = doc.get("software", {})
    if not isinstance(software, Mapping):
        problems.append("software must be an object")
    else:
        if not isinstance(software.get("name"), str) or not _SOFTWARE_NAME.match(software["name"]):
            problems.append("software.name must match ^[a-z0-9-]+$")
        if not isinstance(software.get("version"), str):
            problems.append("software.version must be a string")
        problems += [f"unexpected key software.{k}" for k in software
                     if k not in ("name", "version", "repository", "homepage")]
    protocols = doc.get("protocols", ["activitypub"])
    if not isinstance(protocols, list) or not protocols or not set(protocols) <= PROTOCOLS:
        problems.append(f"protocols must be a non-empty list of {', '.join(sorted(PROTOCOLS))}")
    services = doc.get("services", {"inbound": [], "outbound": []})
    if not isinstance(services, Mapping) or not all(isinstance(services.get(k), list) for k in ("inbound", "outbound")):
        problems.append("services must have inbound and outbound lists")
    if not isinstance(doc.get("openRegistrations", False), bool):
        problems.append("openRegistrations must be a boolean")
    problems += _usage_problems(doc.get("usage", {"users": {}}))
    if not isinstance(doc.get("metadata", {}), Mapping):
        problems.append("metadata must be an object")
    return problems


def _usage_problems(usage: Any) -> list[str]:
    if not isinstance(usage, Mapping) or not isinstance(usage.get("users"), Mapping):
        return ["usage must be an object with a users object"]
    problems = [f"unexpected key usage.{k}" for k in usage if k not in ("users", "localPosts", "localComments")]
    problems += [f"unexpected key usage.users.{k}" for k in usage["users"]
                 if k not in ("total", "activeMonth", "activeHalfyear")]
    counts = {f"usage.users.{k}": v for k, v in usage["users"].items()}
    counts.update({f"usage.{k}": usage[k] for k in ("localPosts", "localComments") if k in usage})
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{name} must be a non-negative integer")
    return problems


def nodeinfo_url_from_links(links_doc: Any) -> str | None:
    """From a remote ``/.well-known/nodeinfo``, the document URL of the highest version we read."""
    links = links_doc.get("links") if isinstance(links_doc, Mapping) else None
    found = {link.get("rel"): link.get("href") for link in links if isinstance(link, Mapping)} \
        if isinstance(links, list) else {}
    for rel in (NODEINFO_21_REL, NODEINFO_20_REL):
        if isinstance(found.get(rel), str):
            return found[rel]
    return None
