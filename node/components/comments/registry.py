"""Commentable types: what a comment may be attached to, and the rules of each."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from node.i18n import N_

DEFAULT_MAX_DEPTH = 3  # as Decidim: root comments have depth 0, replies up to depth 3


@dataclass
class CommentTarget:
    """One commentable object, as its type's loader describes it to the comments package."""

    space_id: int
    # Path of the commentable's page: comment forms redirect to url + "#comment-<id>".
    url: str
    # False refuses new comments, replies, edits and votes (deleting stays possible).
    is_open: bool = True
    # A gettext msgid telling why, shown when is_open is False.
    closed_message: str = N_("Comments are closed here.")
    # Whether commenters say they are for, against or neutral (proposals: yes; debates: no).
    supports_alignment: bool = False
    max_depth: int = DEFAULT_MAX_DEPTH
    # False while the space or component is unpublished: only administrators see or comment.
    published: bool = True
    component_id: int | None = None
    # `async (db, delta)`: keeps a denormalised comment count (delta is +1 or -1) in the
    # transaction that creates or deletes the comment.
    count_changed: Callable[[object, int], Awaitable[None]] | None = None
    # What the comment is about, for the edit form's heading (plain text).
    title: str = ""


Loader = Callable[[object, int], Awaitable["CommentTarget | None"]]
_LOADERS: dict[str, Loader] = {}


def register_commentable(type_name: str, loader: Loader) -> None:
    """`loader(db, commentable_id)` returns a CommentTarget, or None when there is no such object.
    Registering the same type again replaces the loader (module reloads in tests)."""
    _LOADERS[type_name] = loader


def commentable_types() -> tuple[str, ...]:
    return tuple(_LOADERS)


async def load_target(db, type_name: str, commentable_id: int) -> CommentTarget | None:
    loader = _LOADERS.get(type_name)
    return await loader(db, commentable_id) if loader else None
