"""Reading a whole thread: one query (the comments with their authors and the viewer's votes),
the tree built and sorted in Python, so a page costs the same with 3 or 300 comments."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import and_, bindparam, exists, select

from node.accounts.models import User
from babel.dates import format_datetime

from node.appkeys import LOCALE, USER
from node.cohosting.models import RemoteParticipant
from node.components.comments.models import Comment, CommentVote
from node.components.comments.registry import CommentTarget
from node.components.comments.service import BODY_LIMIT, can_delete, can_edit
from node.groups.acting import publishable_groups
from node.groups.models import GroupMembership, UserGroup
from node.i18n import N_
from node.moderation.visibility import not_hidden
from node.permissions.web import notice, request_decision
from node.spaces.models import Component
from node.web.text import render_text

ORDERS = {"older": N_("Older first"), "recent": N_("Most recent first"), "best": N_("Best rated first")}
DEFAULT_ORDER = "older"
ORDER_PARAM = "comments_order"


class CommentView(NamedTuple):
    """What a comment shows, whoever reads it: the key of its kept HTML (node.web.render.fragment)
    with the viewer's CommentViewer, so any change to the comment is another key."""
    id: int
    depth: int
    deleted: bool
    author_username: str | None
    author_nickname: str | None
    group_nickname: str | None
    group_name: str | None
    # A partner node's resident (node.cohosting): their actor (linked), name and home node.
    remote_actor: str | None
    remote_name: str | None
    remote_host: str | None
    created_at: datetime
    edited_at: datetime | None
    alignment: str | None
    body: str
    up_votes: int
    down_votes: int


class CommentViewer(NamedTuple):
    """What a comment's actions depend on of the person reading it."""
    logged_in: bool
    is_author: bool
    my_vote: int
    can_edit: bool
    can_delete: bool


class GroupChoice(NamedTuple):
    id: int
    name: str


@dataclass
class CommentNode:
    comment: Comment
    author_nickname: str | None
    author_username: str | None
    my_vote: int = 0  # the viewer's vote: +1, -1 or 0
    group_nickname: str | None = None  # published on behalf of this group (node.groups)
    group_name: str | None = None
    remote: tuple[str, str, str] | None = None  # (actor URI, name, home host) of a partner's resident
    children: list["CommentNode"] = field(default_factory=list)
    can_edit: bool = False
    can_delete: bool = False

    @property
    def id(self) -> int:
        return self.comment.id

    @property
    def body_html(self):
        return body_html(self.comment.body)

    @property
    def view(self) -> CommentView:
        c = self.comment
        actor, name, host = self.remote or (None, None, None)
        return CommentView(c.id, c.depth, c.deleted, self.author_username, self.author_nickname,
                           self.group_nickname, self.group_name, actor, name, host, c.created_at, c.edited_at,
                           c.alignment, c.body, c.up_votes, c.down_votes)

    def viewer(self, user) -> CommentViewer:
        return CommentViewer(user is not None, user is not None and self.comment.author_id == user.id,
                             self.my_vote, self.can_edit, self.can_delete)

    def subtree(self, user) -> tuple:
        """(view, viewer, replies' subtrees): this comment and its replies as `user` sees them,
        the key of the thread's kept HTML (components/comments/_thread.html)."""
        return self.view, self.viewer(user), tuple(child.subtree(user) for child in self.children)


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
    return (await _load_thread(db, commentable_type, commentable_id, order, viewer))[0]


async def _load_thread(db, commentable_type: str, commentable_id: int, order: str,
                       viewer) -> tuple[list[CommentNode], bool | None]:
    """load_thread's roots, and whether the viewer is in any group (None: not known, no row)."""
    values = {"type": commentable_type, "id": commentable_id, "viewer_id": viewer.id if viewer is not None else None}
    rows = (await db.execute(_thread_query(viewer is not None), values)).all()
    nodes = {row[0].id: CommentNode(row[0], row[1], row[2], (row[8] or 0) if viewer is not None else 0,
                                    group_nickname=row[3], group_name=row[4],
                                    remote=(row[5], row[6] or row[5].rsplit("/", 1)[-1], row[7]) if row[5] else None,
                                    can_edit=can_edit(viewer, row[0]), can_delete=can_delete(viewer, row[0]))
             for row in rows}
    in_groups = bool(rows[0][9]) if rows and viewer is not None else None
    roots: list[CommentNode] = []
    for node in nodes.values():
        parent = nodes.get(node.comment.parent_id) if node.comment.parent_id else None
        if node.comment.parent_id and parent is None:
            continue  # under a hidden comment: hidden with it (node.moderation)
        (parent.children if parent else roots).append(node)
    for node in nodes.values():
        _sort(node.children, order)
    _sort(roots, order)
    return roots, in_groups


@lru_cache(maxsize=2)
def _thread_query(with_votes: bool):
    """load_thread's statement, built once (its values are bound parameters): building and keying
    a statement costs about as much as running it."""
    query = (select(Comment, User.nickname, User.username, UserGroup.nickname, UserGroup.name,
                    RemoteParticipant.actor_uri, RemoteParticipant.display_name, RemoteParticipant.home_host)
             .outerjoin(User, User.id == Comment.author_id)
             .outerjoin(UserGroup, UserGroup.id == Comment.user_group_id)
             .outerjoin(RemoteParticipant, RemoteParticipant.id == Comment.remote_participant_id)
             .where(Comment.commentable_type == bindparam("type"), Comment.commentable_id == bindparam("id"),
                    not_hidden("comment", Comment.id)))
    if with_votes:  # the viewer's own votes, in the same round trip
        viewer_id = bindparam("viewer_id")
        # And whether the viewer is in any group: if not, there is none to publish as and no
        # need to ask node.groups (an uncorrelated subquery: computed once).
        in_groups = exists().where(GroupMembership.user_id == viewer_id)
        query = query.add_columns(CommentVote.value, in_groups).outerjoin(
            CommentVote, and_(CommentVote.comment_id == Comment.id, CommentVote.user_id == viewer_id))
    return query


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
    thread, in_groups = await _load_thread(db, commentable_type, commentable_id, order, request.get(USER))
    locale = request.get(LOCALE, "en")
    refused = None
    if request.get(USER) is not None and target.component_id is not None:
        # The page loaded the component in this session already: no query (identity map).
        component = await db.get(Component, target.component_id)
        if component is not None:
            refused = notice(request, await request_decision(request, db, component, "comment"),
                             request.path + "#comments")
    # Publishing on behalf of a group takes being in one (node.groups.acting decides the rest).
    groups = [] if refused is not None or not target.is_open or in_groups is False else \
        await publishable_groups(db, request.get(USER))
    return {
        "comment_time": lambda value: comment_time(value, locale),
        "commentable_type": commentable_type,
        "commentable_id": commentable_id,
        "thread": thread,
        # The key of the thread's kept HTML (components/comments/_thread.html): built here, where
        # it costs a tenth of what two template calls per comment do.
        "thread_tree": tuple(node.subtree(request.get(USER)) for node in thread),
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
        "comment_groups": groups,
        "comment_group_choices": tuple(GroupChoice(g.id, g.name) for g in groups),
    }
