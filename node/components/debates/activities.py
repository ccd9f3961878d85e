"""Debates as ActivityStreams ``Note`` objects (DESIGN.md §4), pure functions, no I/O.

A debate is a Note with a ``name`` (its title); Mastodon ignores ``name`` on a Note, so the title
also heads the HTML content.  ``summary`` is deliberately not used: Mastodon shows it as a content
warning.  A closed debate carries ``closed`` (the ActivityStreams term, a date) and its
``conclusion`` (civicnode term, sanitised HTML).  Official debates (no author) are attributed to
the space's Group.
"""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

from federation.vocab import AS_PUBLIC
from node.components.comments.activities import (announce, document_context, followers_of, group_id, iso,
                                                  tombstone, user_id, wrap)
from node.i18n import pick
from node.web.text import render_text

__all__ = ["announce", "debate_to_note", "debate_tombstone", "debate_url", "wrap"]


def debate_url(base_url: str, space_slug: str, component_id: int, debate_id: int) -> str:
    """The debate's page (views.BASE + "/{debate_id}"), also its federated id."""
    return f"{base_url}/spaces/{space_slug}/c/{component_id}/debates/{debate_id}"


def debate_to_note(debate, *, base_url: str, space_slug: str, author_username: str | None,
                   locale: str) -> dict[str, Any]:
    """``debate`` (models.Debate); its translated fields are read in ``locale`` (the node's
    default language), with every translation of the title in ``nameMap``."""
    note_id = debate_url(base_url, space_slug, debate.component_id, debate.id)
    group = group_id(base_url, space_slug)
    title = pick(debate.title, locale, locale)
    description = pick(debate.description, locale, locale)
    body = render_text(description)
    content = str(Markup("<p><strong>{}</strong></p>").format(title) + body)
    published = iso(debate.created_at)
    note: dict[str, Any] = {
        "@context": document_context(),
        "id": note_id,
        "type": "Note",
        "attributedTo": user_id(base_url, author_username) if author_username and debate.author_id is not None
        else group,
        "audience": group,
        "name": title,
        "content": content,
        "contentMap": {locale: content},
        "mediaType": "text/html",
        "source": {"content": description, "mediaType": "text/markdown"},
        "published": published,
        "url": note_id,
        "to": [AS_PUBLIC],
        "cc": [followers_of(group)],
    }
    names = {lang: text for lang, text in (debate.title or {}).items() if text}
    if names:
        note["nameMap"] = names
    updated = iso(debate.updated_at)
    if updated and updated != published:
        note["updated"] = updated
    if debate.start_at is not None:
        note["startTime"] = iso(debate.start_at)
    if debate.end_at is not None:
        note["endTime"] = iso(debate.end_at)
    if debate.closed_at is not None:
        note["closed"] = iso(debate.closed_at)
        conclusion = pick(debate.conclusion, locale, locale)
        if conclusion:
            note["conclusion"] = str(render_text(conclusion))
    return note


def debate_tombstone(debate, *, base_url: str, space_slug: str, deleted=None) -> dict[str, Any]:
    """What a Delete of a debate carries (formerType Note)."""
    return tombstone(debate_url(base_url, space_slug, debate.component_id, debate.id), "Note", deleted)
