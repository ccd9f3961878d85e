"""Comments as ActivityStreams objects, and the activity helpers every component's mapping uses.

Pure functions (no I/O): callers pass the ORM rows and what they cannot know (base URL, space
slug, usernames).  A comment is a ``Note`` with ``inReplyTo`` (its parent comment, or the
commentable it is about), so that a Mastodon account following the space sees it in the thread;
a deleted comment is a ``Tombstone`` so that peers drop it (and its body is never sent).

Activities: :func:`wrap` builds Create / Update / Delete by the author, :func:`announce` the
space Group's Announce of such an activity to its followers (Lemmy communities / FEP-1b12).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from federation.vocab import AS_PUBLIC, default_context

__all__ = ["announce", "comment_id", "comment_to_note", "document_context", "followers_of",
           "group_id", "iso", "tombstone", "user_id", "wrap"]

ACTIVITY_TYPES = ("Create", "Update", "Delete")


def document_context() -> list[Any]:
    """The @context of the documents components publish (the civicnode terms inlined)."""
    return default_context()


def iso(moment: datetime | None) -> str | None:
    """xsd:dateTime in UTC, whole seconds, ``Z`` (what Mastodon writes and parses)."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive datetimes: they are UTC here
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def group_id(base_url: str, space_slug: str) -> str:
    """The space's Group actor."""
    return f"{base_url}/spaces/{space_slug}"


def followers_of(actor: str) -> str:
    return f"{actor}/followers"


def user_id(base_url: str, username: str) -> str:
    """A resident's Person actor."""
    return f"{base_url}/users/{username}"


def comment_id(base_url: str, comment_id_: int) -> str:
    return f"{base_url}/comments/{comment_id_}"


def tombstone(object_id: str, former_type: str, deleted: datetime | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": document_context(), "id": object_id, "type": "Tombstone",
                           "formerType": former_type}
    if deleted is not None:
        doc["deleted"] = iso(deleted)
    return doc


def comment_to_note(comment, *, base_url: str, author_username: str | None, in_reply_to_url: str,
                    space_slug: str, page_url: str | None = None, locale: str | None = None,
                    author_uri: str | None = None) -> dict[str, Any]:
    """A comment as a ``Note``; a deleted one as a ``Tombstone`` (formerType Note).

    ``in_reply_to_url``: the parent comment's id, or the commentable's id for a top-level comment.
    ``page_url``: the commentable's page path (``/spaces/…``); the Note's ``url`` is its anchor.
    ``author_username`` None (account deleted): the comment is attributed to the space's Group.
    ``author_uri``: the actor of a partner node's resident who wrote it from their node.
    """
    from node.web.text import render_text  # the same sanitiser as the HTML pages

    note_id = comment_id(base_url, comment.id)
    if comment.deleted_at is not None:
        return tombstone(note_id, "Note", comment.deleted_at)
    group = group_id(base_url, space_slug)
    author = user_id(base_url, author_username) if author_username else author_uri or group
    content = str(render_text(comment.body))
    note: dict[str, Any] = {
        "@context": document_context(),
        "id": note_id,
        "type": "Note",
        "attributedTo": author,
        "audience": group,
        "inReplyTo": in_reply_to_url,
        "content": content,
        "mediaType": "text/html",
        "source": {"content": comment.body, "mediaType": "text/markdown"},
        "published": iso(comment.created_at),
        "to": [AS_PUBLIC],
        "cc": [followers_of(group)],
    }
    if locale:
        note["contentMap"] = {locale: content}
    if page_url:
        note["url"] = f"{base_url}{page_url}#comment-{comment.id}"
    if comment.edited_at is not None:
        note["updated"] = iso(comment.edited_at)
    if comment.alignment:
        note["alignment"] = comment.alignment
    return note


def _bare(obj: Any) -> Any:
    """An embedded object without its own @context (the outer document carries it)."""
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if k != "@context"}
    return obj


def wrap(activity_type: str, actor_id: str, obj: dict[str, Any] | str, *, activity_id: str) -> dict[str, Any]:
    """Create / Update / Delete of ``obj`` by ``actor_id``, addressed as the object is.

    For Delete, ``obj`` may be the object's id, or its Tombstone (see :func:`tombstone`)."""
    if activity_type not in ACTIVITY_TYPES:
        raise ValueError(f"wrap() builds {', '.join(ACTIVITY_TYPES)}, not {activity_type}")
    activity: dict[str, Any] = {"@context": document_context(), "id": activity_id, "type": activity_type,
                                "actor": actor_id, "object": _bare(obj)}
    if isinstance(obj, dict):
        activity["to"] = list(obj.get("to") or [AS_PUBLIC])
        if obj.get("cc"):
            activity["cc"] = list(obj["cc"])
        if obj.get("audience"):
            activity["audience"] = obj["audience"]
        moment = {"Create": obj.get("published"), "Update": obj.get("updated") or obj.get("published"),
                  "Delete": obj.get("deleted")}[activity_type]
        if moment:
            activity["published"] = moment
    else:
        activity["to"] = [AS_PUBLIC]
    return activity


def announce(group_id: str, activity: dict[str, Any], *, announce_id: str, followers: str) -> dict[str, Any]:
    """The Group relays ``activity`` (embedded whole) to its followers: Announce{object: activity},
    as Lemmy communities do (FEP-1b12)."""
    # A signed activity keeps its own @context: its FEP-8b32 proof covers it.
    embedded = dict(activity) if "proof" in activity else _bare(activity)
    doc: dict[str, Any] = {"@context": document_context(), "id": announce_id, "type": "Announce",
                           "actor": group_id, "object": embedded, "to": [AS_PUBLIC], "cc": [followers],
                           "audience": group_id}
    if activity.get("published"):
        doc["published"] = activity["published"]
    return doc
