"""Proposals as ActivityStreams ``Article`` objects (DESIGN.md §4), pure functions, no I/O.

The Article's id is the proposal's page, ``{base_url}/spaces/{slug}/proposals/{id}``; its civicnode
terms are ``state``, ``fingerprint`` (of the version sent) and ``category``; ``supportCount`` only
when the component's results-visibility policy lets the public see counts — federation must never
show more than the page does.
"""
from __future__ import annotations

from typing import Any

from federation.vocab import AS_PUBLIC
from node.components.comments.activities import (announce, document_context, followers_of, group_id, iso,
                                                  tombstone, user_id, wrap)
from node.web.text import render_text

__all__ = ["announce", "proposal_tombstone", "proposal_to_article", "proposal_url", "wrap"]


def proposal_url(base_url: str, space_slug: str, proposal_id: int) -> str:
    """The proposal's page, which is also its federated id (see routes.py)."""
    return f"{base_url}/spaces/{space_slug}/proposals/{proposal_id}"


def proposal_to_article(proposal, version, *, base_url: str, space_slug: str, author_username: str | None,
                        locale: str, counts_visible: bool, author_uri: str | None = None) -> dict[str, Any]:
    """``proposal`` (models.Proposal) as published in ``version`` (its current ProposalVersion).

    ``counts_visible``: what ``settings.counts_visible(settings, phase_id, None)`` says for an
    anonymous reader; False keeps ``supportCount`` out of the document.
    ``author_username`` None (account deleted): attributed to the space's Group.
    ``author_uri``: the actor of a partner node's resident who wrote it from their node."""
    article_id = proposal_url(base_url, space_slug, proposal.id)
    group = group_id(base_url, space_slug)
    content = str(render_text(version.body))
    published = iso(proposal.created_at)
    article: dict[str, Any] = {
        "@context": document_context(),
        "id": article_id,
        "type": "Article",
        "attributedTo": user_id(base_url, author_username) if author_username else author_uri or group,
        "audience": group,
        "name": version.title,
        "content": content,
        "contentMap": {locale: content},
        "mediaType": "text/html",
        "source": {"content": version.body, "mediaType": "text/markdown"},
        "published": published,
        "url": article_id,
        "to": [AS_PUBLIC],
        "cc": [followers_of(group)],
        "state": proposal.state,
        "fingerprint": version.fingerprint,
    }
    updated = iso(version.created_at)
    if updated and updated != published:
        article["updated"] = updated
    category = version.category or proposal.category
    if category:
        article["category"] = category
    if counts_visible:
        article["supportCount"] = proposal.support_count or 0
    return article


def proposal_tombstone(proposal, *, base_url: str, space_slug: str, deleted=None) -> dict[str, Any]:
    """What a Delete of a proposal carries (formerType Article)."""
    return tombstone(proposal_url(base_url, space_slug, proposal.id), "Article", deleted)
