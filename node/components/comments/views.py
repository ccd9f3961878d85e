"""Comment forms: create, reply, edit, delete, vote. Plain POSTs (no JavaScript needed) that
redirect back to the comment's anchor on the commentable's page."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from node.appkeys import DB, GETTEXT, USER
from node.components.comments.models import Comment
from node.components.comments.registry import CommentTarget, load_target
from node.components.comments.service import (BODY_LIMIT, CommentError, create_comment, delete_comment,
                                              edit_comment, vote)
from node.components.comments.thread import ORDER_PARAM, ORDERS
from node.permissions.web import refusal, request_decision
from node.spaces.models import Component
from node.web.errors import user_error
from node.web.render import render

VOTE_VALUES = {"up": 1, "down": -1, "none": 0}


def _int(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _visible(request: web.Request, target: CommentTarget | None) -> bool:
    user = request.get(USER)
    return target is not None and (target.published or bool(user and user.is_admin))


async def _target(request: web.Request, db, commentable_type: str, commentable_id) -> CommentTarget:
    target = None
    if _int(commentable_id) is not None:
        target = await load_target(db, commentable_type, _int(commentable_id))
    if not _visible(request, target):
        raise user_error(404, "There is nothing to comment on at this address.")
    return target


async def _comment(request: web.Request, db) -> tuple[Comment, CommentTarget]:
    comment = await db.get(Comment, _int(request.match_info["comment_id"]))
    if comment is None:
        raise user_error(404, "This comment does not exist.")
    return comment, await _target(request, db, comment.commentable_type, comment.commentable_id)


def _back(target: CommentTarget, form, comment_id: int | None = None) -> web.HTTPSeeOther:
    order = str(form.get(ORDER_PARAM, ""))
    location = target.url + (f"?{ORDER_PARAM}={order}" if order in ORDERS else "")
    return web.HTTPSeeOther(location + (f"#comment-{comment_id}" if comment_id else "#comments"))


def _refused(request: web.Request, exc: CommentError) -> web.HTTPException:
    # Already translated and formatted; the error page's own gettext pass leaves it unchanged.
    return user_error(exc.status, exc.text(request[GETTEXT]))


def _login_redirect(request: web.Request, target: CommentTarget) -> web.HTTPSeeOther:
    url = request.app.router["login"].url_for().with_query(next=target.url + "#comments")
    return web.HTTPSeeOther(url)


def _form_page(request, target, *, action, values, error=None, mode="create", status=200):
    return render(request, "components/comments/form.html", {
        "target": target, "action": action, "values": values, "error": error, "mode": mode,
        "body_limit": BODY_LIMIT}, status=status)


async def create(request: web.Request) -> web.Response:
    form = await request.post()
    commentable_type = str(form.get("commentable_type", ""))
    commentable_id = _int(form.get("commentable_id"))
    parent_id = _int(form.get("parent_id")) if form.get("parent_id") else None
    async with request.app[DB]() as db:
        target = await _target(request, db, commentable_type, commentable_id)
        user = request.get(USER)
        if user is None:
            raise _login_redirect(request, target)
        # A comment takes the permission of the component its resource belongs to.
        component = await db.get(Component, target.component_id) if target.component_id else None
        decision = await request_decision(request, db, component, "comment") if component else None
    if decision is not None and not decision.allowed:
        return refusal(request, decision, target.url + "#comments")
    try:
        async with request.app[DB].begin() as db:
            comment = await create_comment(
                db, target, commentable_type=commentable_type, commentable_id=commentable_id, author=user,
                body=form.get("body"), parent_id=parent_id, alignment=str(form.get("alignment", "")) or None,
                on_behalf_of=form.get("user_group"))
    except CommentError as exc:
        if exc.status != 422:
            raise _refused(request, exc) from None
        values = {key: str(form.get(key, "")) for key in
                  ("commentable_type", "commentable_id", "parent_id", "body", "alignment", "user_group", ORDER_PARAM)}
        if exc.code == "too_deep":
            # Offer the nearest place where a reply is allowed: next to the comment, not under it.
            async with request.app[DB]() as db:
                parent = await db.get(Comment, parent_id)
            values["parent_id"] = str(parent.parent_id or "") if parent else ""
        return _form_page(request, target, action=request.app.router["comment_create"].url_for(),
                          values=values, error=exc.text(request[GETTEXT]), status=422)
    raise _back(target, form, comment.id)


async def edit(request: web.Request) -> web.Response:
    user = request.get(USER)
    async with request.app[DB]() as db:
        comment, target = await _comment(request, db)
    if user is None:
        raise _login_redirect(request, target)
    action = request.app.router["comment_edit"].url_for(comment_id=str(comment.id))
    if request.method == "GET":
        if comment.author_id != user.id or comment.deleted:
            raise user_error(403, "Only the author of a comment can edit it.")
        return _form_page(request, target, action=action, mode="edit",
                          values={"body": comment.body, ORDER_PARAM: request.query.get(ORDER_PARAM, "")})
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            comment = await db.get(Comment, comment.id)
            await edit_comment(db, target, comment, user, form.get("body"))
    except CommentError as exc:
        if exc.status != 422:
            raise _refused(request, exc) from None
        return _form_page(request, target, action=action, mode="edit", status=422,
                          values={"body": str(form.get("body", "")), ORDER_PARAM: str(form.get(ORDER_PARAM, ""))},
                          error=exc.text(request[GETTEXT]))
    raise _back(target, form, comment.id)


async def delete(request: web.Request) -> web.Response:
    user = request.get(USER)
    form = await request.post()
    async with request.app[DB]() as db:
        comment, target = await _comment(request, db)
    if user is None:
        raise _login_redirect(request, target)
    try:
        async with request.app[DB].begin() as db:
            await delete_comment(db, target, await db.get(Comment, comment.id), user)
    except CommentError as exc:
        raise _refused(request, exc) from None
    raise _back(target, form, comment.id)


async def vote_view(request: web.Request) -> web.Response:
    user = request.get(USER)
    form = await request.post()
    async with request.app[DB]() as db:
        comment, target = await _comment(request, db)
    if user is None:
        raise _login_redirect(request, target)
    value = VOTE_VALUES.get(str(form.get("value", "")))
    seen = VOTE_VALUES.get(str(form.get("seen", "")))  # None when the form did not say
    try:
        async with request.app[DB].begin() as db:
            await vote(db, target, await db.get(Comment, comment.id), user, value or 0, seen)
    except CommentError as exc:
        raise _refused(request, exc) from None
    except IntegrityError:
        # The unique constraint caught a race the row lock did not prevent: one vote is stored.
        pass
    raise _back(target, form, comment.id)


def setup_routes(app: web.Application) -> None:
    """Adds the comment routes once, whichever commentable component asks first."""
    if "comment_create" in app.router.named_resources():
        return
    app.router.add_post("/comments", create, name="comment_create")
    resource = app.router.add_resource("/comments/{comment_id:\\d+}/edit", name="comment_edit")
    resource.add_route("GET", edit)
    resource.add_route("POST", edit)
    app.router.add_post("/comments/{comment_id:\\d+}/delete", delete, name="comment_delete")
    app.router.add_post("/comments/{comment_id:\\d+}/vote", vote_view, name="comment_vote")
