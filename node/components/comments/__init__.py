"""Threaded comments on any commentable resource (debates, proposals, later budgets, meetings).

Not a component kind (it is never added to a space on its own): commentable components use it.

Registering a commentable type (once, at import of the component package)::

    from node.components.comments import CommentTarget, register_commentable

    async def load_proposal(db, proposal_id) -> CommentTarget | None:
        ...  # None when there is no such proposal (the comment routes answer 404)
        return CommentTarget(
            space_id=p.space_id, component_id=p.component_id,
            url=f"/spaces/{slug}/c/{component_id}/proposals/{p.id}",  # path; redirects add #comment-N
            is_open=...,                 # False refuses new comments, replies, edits and votes
            closed_message=N_("…"),      # gettext msgid shown when is_open is False
            supports_alignment=True,     # in favour / against / neutral
            max_depth=3,                 # deepest reply level (e.g. a component setting)
            published=...,               # False: only administrators see it or comment
            count_changed=bump,          # optional `async (db, delta)`: +1 on create, -1 on delete
            title="…",                   # plain text, heading of the edit form
        )

    register_commentable("proposal", load_proposal)

A commentable's routes must exist at start-up: its kind's `setup_routes` calls
`setup_routes(app)` from here and its `setup_api` calls `setup_api(app)`; both are idempotent, so
every commentable kind calls them. Its `openapi()` merges `openapi()` from here.

Showing the thread on the commentable's page::

    context.update(await thread_context(request, db, "proposal", proposal.id, target))
    {% include "components/comments/thread.html" %}

The include reads: commentable_type, commentable_id, thread (from `load_thread`), order,
can_comment, supports_alignment, and from `thread_context` also comment_orders,
comments_count, comments_closed_message, max_depth, comment_refused, comment_groups and
comment_group_choices. The thread's HTML is kept (node.web.render.fragment) under what each
comment shows and what the viewer may do with it (CommentNode.subtree), so a page with the
same comments costs one lookup.

Routes: POST /comments (commentable_type, commentable_id, parent_id?, body, alignment?),
GET/POST /comments/{id}/edit, POST /comments/{id}/delete, POST /comments/{id}/vote
(value=up|down, seen=up|down|none: the vote the page showed), GET /api/comments.
Events recorded: comment.created, comment.deleted.
"""
from node.components.comments.api import openapi, setup_api
from node.components.comments.registry import CommentTarget, load_target, register_commentable
from node.components.comments.thread import CommentNode, load_thread, thread_context
from node.components.comments.views import setup_routes

__all__ = ["CommentNode", "CommentTarget", "load_target", "load_thread", "openapi", "register_commentable",
           "setup_api", "setup_routes", "thread_context"]
