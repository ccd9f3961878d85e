"""Published texts: each one is a numbered version with a fingerprint anyone can recompute.

fingerprint = SHA-256 of the RFC 8785 (JCS) canonical JSON of
    {"space": <space URI>, "title": ..., "body": ..., "author": <author URI>, "created_at": ISO UTC}
The version number is deliberately not inside: two identical texts published by the same author
at the same instant in the same space are the same statement. The canonical JSON is stored
verbatim, so a fingerprint stays checkable after renames or a move of the node.
"""
from __future__ import annotations

import difflib
import hashlib
import shlex
from datetime import datetime, timezone

import rfc8785
from markupsafe import Markup
from sqlalchemy import select

from node.components.proposals.models import Proposal, ProposalVersion


def space_uri(base_url: str, slug: str) -> str:
    return f"{base_url}/spaces/{slug}"


def author_uri(base_url: str, username: str | None) -> str | None:
    return f"{base_url}/users/{username}" if username else None


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_json(*, space: str, title: str, body: str, author: str | None, created_at: datetime) -> str:
    content = {"space": space, "title": title, "body": body, "author": author,
               "created_at": iso_utc(created_at)}
    return rfc8785.dumps(content).decode("utf-8")


def fingerprint_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def shell_command(canonical: str) -> str:
    """The command that recomputes a fingerprint in a POSIX shell (quotes escaped)."""
    return f"printf '%s' {shlex.quote(canonical)} | sha256sum"


def now_seconds() -> datetime:
    # The canonical form carries whole seconds, so the stored time does too: what the page
    # shows, what the database holds and what was hashed are the same instant.
    return datetime.now(timezone.utc).replace(microsecond=0)


async def add_version(db, proposal: Proposal, *, base_url: str, space_slug: str, author_username: str | None,
                      title: str, body: str, category: str, address: str,
                      amendment_id: int | None = None, created_at: datetime | None = None,
                      author: str | None = None) -> ProposalVersion:
    """Publish a text: the proposal shows it and a new version records it. ``author``: the
    author's actor URI when it is not one of ours (a proposal shared from another node)."""
    created_at = (created_at or now_seconds()).replace(microsecond=0)
    number = (proposal.version_number or 0) + 1 if proposal.id else 1
    canonical = canonical_json(space=space_uri(base_url, space_slug), title=title, body=body,
                               author=author or author_uri(base_url, author_username), created_at=created_at)
    proposal.title, proposal.body, proposal.category, proposal.address = title, body, category, address
    proposal.version_number = number
    if proposal.id is None:
        db.add(proposal)
        await db.flush()
    version = ProposalVersion(proposal_id=proposal.id, number=number, title=title, body=body,
                              category=category, address=address, created_at=created_at,
                              author_id=proposal.author_id, amendment_id=amendment_id,
                              canonical_json=canonical, fingerprint=fingerprint_of(canonical))
    db.add(version)
    await db.flush()
    return version


async def versions_of(db, proposal_id: int) -> list[ProposalVersion]:
    return list((await db.scalars(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal_id)
                                  .order_by(ProposalVersion.number))).all())


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """A line diff as (kind, text) pairs, kind in "same", "added", "removed"; templates escape
    the text like any other resident's text."""
    lines = []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "  ":
            lines.append(("same", text))
        elif tag == "+ ":
            lines.append(("added", text))
        elif tag == "- ":
            lines.append(("removed", text))
    return lines


def diff_html(old: str, new: str) -> Markup:
    """The diff as an escaped <pre> with <ins>/<del> lines, readable without colours too."""
    parts = []
    for kind, text in diff_lines(old, new):
        if kind == "added":
            parts.append(Markup("<ins>+ {}</ins>").format(text))
        elif kind == "removed":
            parts.append(Markup("<del>- {}</del>").format(text))
        else:
            parts.append(Markup("  {}").format(text))
    return Markup('<pre class="diff">') + Markup("\n").join(parts) + Markup("</pre>")

