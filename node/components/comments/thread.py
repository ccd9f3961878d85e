"""Reading a whole thread: one query (the comments with their authors and the viewer's votes),
the tree built and sorted in Python, so a page costs the same with 3 or 300 comments."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import and_, select

from node.accounts.models import User
from babel.dates import format_datetime

from node.appkeys import LOCALE, USER
from node.components.comments.models import Comment, CommentVote
from node.components.comments.registry import CommentTarget
from node.components.comments.service import BODY_LIMIT, can_delete, can_edit
from node.groups.acting import publishable_groups
from node.groups.models import UserGroup
from node.i18n import N_
from node.moderation.visibility import not_hidden
from node.permissions.web import notice, request_decision
from node.spaces.models import Component
from node.web.text import render_text

ORDERS = {"older": N_("Older first"), "recent": N_("Most recent first"), "best": N_("Best rated first")}
DEFAULT_ORDER = "older"
ORDER_PARAM = "comments_order"


@dataclass
class CommentNode:
    comment: Comment
    author_nickname: str | None
    author_username: str | None
    my_vote: int = 0  # the viewer's vote: +1, -1 or 0
    group_nickname: str | None = None  # published on behalf of this group (node.groups)
    group_name: str | None = None
    children: list["CommentNode"] = field(default_factory=list)
    can_edit: bool = False
    can_delete: bool = False

    @property
    def id(self) -> int:
        return self.comment.id

    @property
    def body_html(self):
        return body_html(self.comment.body)


@lru_cache(maxsize=1024)
def body_html(body: str):
    """Markdown rendering is most of a thread's cost, and comments are read far more often than
    written: the HTML of recently shown bodies is kept (keyed by the text itself, so an edit
    never shows stale HTML)."""
    return render_text(body)


def _sort(nodes: list[CommentNode], order: str) -> None:
    if order == "recent":
        nodes.sort(key=lambda n: (n.comment.created_at, n.comment.id), reverse=True)
    elif order == "best":
        nodes.sort(key=lambda n: (-n.comment.score, n.comment.created_at, n.comment.id))
    else:
        nodes.sort(key=lambda n: (n.comment.created_at, n.comment.id))


async def load_thread(db, commentable_type: str, commentable_id: int, order: str = DEFAULT_ORDER,
                      viewer=None) -> list[CommentNode]:
    """The root comments of a commentable, each with its replies, in `order` at every level."""
    query = (select(Comment, User.nickname, User.username, UserGroup.nickname, UserGroup.name)
             .outerjoin(User, User.id == Comment.author_id)
             .outerjoin(UserGroup, UserGroup.id == Comment.user_group_id)
             .where(Comment.commentable_type == commentable_type, Comment.commentable_id == commentable_id,
                    not_hidden("comment", Comment.id)))
    if viewer is not None:  # the viewer's own votes, in the same round trip
        query = query.add_columns(CommentVote.value).outerjoin(
            CommentVote, and_(CommentVote.comment_id == Comment.id, CommentVote.user_id == viewer.id))
    nodes = {row[0].id: CommentNode(row[0], row[1], row[2], (row[5] or 0) if viewer is not None else 0,
                                    group_nickname=row[3], group_name=row[4], can_edit=can_edit(viewer, row[0]), can_delete=can_delete(viewer, row[0]))
             for row in (await db.execute(query)).all()}
    roots: list[CommentNode] = []
    for node in nodes.values():
        parent = nodes.get(node.comment.parent_id) if node.comment.parent_id else None
        if node.comment.parent_id and parent is None:
            continue  # under a hidden comment: hidden with it (node.moderation)
        (parent.children if parent else roots).append(node)
    for node in nodes.values():
        _sort(node.children, order)
    _sort(roots, order)
    return roots


@lru_cache(maxsize=4096)
def comment_time(value, locale: str) -> str:
    """Babel's formatting is the next largest cost of a thread; a comment's time never changes."""
    return format_datetime(value, "short", locale=locale)


def count_visible(thread: list[CommentNode]) -> int:
    total = 0
    for node in thread:
        total += (not node.comment.deleted) + count_visible(node.children)
    return total


def requested_order(request) -> str:
    order = request.query.get(ORDER_PARAM, DEFAULT_ORDER)
    return order if order in ORDERS else DEFAULT_ORDER


async def thread_context(request, db, commentable_type: str, commentable_id: int,
                         target: CommentTarget) -> dict:
    """Everything components/comments/thread.html needs, to merge into a page's context."""
    order = requested_order(request)
    thread = await load_thread(db, commentable_type, commentable_id, order, request.get(USER))
    locale = request.get(LOCALE, "en")
    refused = None
    if request.get(USER) is not None and target.component_id is not None:
        # The page loaded the component in this session already: no query (identity map).
        component = await db.get(Component, target.component_id)
        if component is not None:
            refused = notice(request, await request_decision(request, db, component, "comment"),
                             request.path + "#comments")
    return {
        "comment_time": lambda value: comment_time(value, locale),
        "commentable_type": commentable_type,
        "commentable_id": commentable_id,
        "thread": thread,
        "order": order,
        "comment_orders": ORDERS,
        "comments_count": count_visible(thread),
        "can_comment": target.is_open,
        "comments_closed_message": target.closed_message,
        "supports_alignment": target.supports_alignment,
        "max_depth": target.max_depth,
        "comment_body_limit": BODY_LIMIT,
        # What is missing for this viewer to comment (node.permissions), None when nothing is.
        "comment_refused": refused,
        # Verified groups the viewer may comment on behalf of (node.groups).
        "comment_groups": await publishable_groups(db, request.get(USER)) if refused is None and target.is_open else [],
    }
