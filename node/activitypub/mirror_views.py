"""Pages of the follower side: follow a space of another node, and read its mirror here.

/following                      the resident's followed spaces and the "follow" form (log-in)
/following/<id>                 a mirrored space: its proposals and debates (public)
/following/<id>/items/<item>    one proposal or debate with its comment thread (public)
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.activitypub.follow_models import RemoteFollow, RemoteItem, RemoteSpace
from node.activitypub.mirror import FollowError, follow_space, unfollow_space
from node.appkeys import DB, GETTEXT, USER
from node.cohosting.service import active_partnership, conditions_labels
from node.i18n import N_
from node.moderation.models import REMOTE_SUBJECT, Moderation
from node.moderation.visibility import is_hidden, not_hidden
from node.web.context import require_user
from node.web.errors import user_error
from node.web.render import render

DONE = {"followed": N_("You follow this space. Its news will appear here as it happens."),
        "unfollowed": N_("You no longer follow this space.")}
MAX_THREAD_DEPTH = 8
LIST_LIMIT = 200


def _id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise user_error(404, "Nothing from another node has this address here.")
    return int(raw)


async def following(request: web.Request) -> web.Response:
    user = require_user(request)
    address, error = "", None
    if request.method == "POST":
        form = await request.post()
        address = str(form.get("address", "")).strip()[:500]
        try:
            space = await follow_space(request.app, user, address)
        except FollowError as exc:
            error = request[GETTEXT](exc.message) % exc.values if exc.values else request[GETTEXT](exc.message)
        else:
            raise web.HTTPSeeOther(str(request.app.router["remote_space"].url_for(space_id=str(space.id))
                                       .with_query(done="followed")))
    async with request.app[DB]() as db:
        rows = (await db.execute(select(RemoteSpace, RemoteFollow.state).join(RemoteFollow)
                                 .where(RemoteFollow.user_id == user.id).order_by(RemoteSpace.name))).all()
    return render(request, "federation/following.html", {"followed": rows, "address": address, "error": error},
                  status=422 if error else 200)


async def remote_space(request: web.Request) -> web.Response:
    space_id = _id(request, "space_id")
    user = request.get(USER)
    async with request.app[DB]() as db:
        space = await db.get(RemoteSpace, space_id)
        if space is None:
            raise user_error(404, "Nothing from another node has this address here.")
        items = (await db.scalars(select(RemoteItem)
                                  .where(RemoteItem.remote_space_id == space.id, RemoteItem.kind != "comment",
                                         RemoteItem.deleted_at.is_(None), not_hidden(REMOTE_SUBJECT, RemoteItem.id))
                                  .order_by(RemoteItem.published.desc(), RemoteItem.id.desc()).limit(LIST_LIMIT))).all()
        replies = dict((await db.execute(select(RemoteItem.in_reply_to, func.count())
                                         .where(RemoteItem.remote_space_id == space.id, RemoteItem.kind == "comment",
                                                RemoteItem.deleted_at.is_(None),
                                                not_hidden(REMOTE_SUBJECT, RemoteItem.id))
                                         .group_by(RemoteItem.in_reply_to))).all())
        partnership = await active_partnership(db, space.uri)
        propose = None
        if partnership is not None or space.federation_policy == "open":
            from node.cohosting.proposals_home import propose_context  # co-hosted spaces only

            propose = await propose_context(request, db, space, partnership)
        state = None
        if user is not None:
            state = await db.scalar(select(RemoteFollow.state).where(RemoteFollow.remote_space_id == space.id,
                                                                     RemoteFollow.user_id == user.id))
    done = DONE.get(request.query.get("done", ""))
    return render(request, "federation/space.html", {
        "space": space, "follow_state": state, "replies": replies, "propose": propose,
        "cohosting": conditions_labels(partnership.conditions) if partnership else None,
        "proposals": [i for i in items if i.kind == "proposal"], "debates": [i for i in items if i.kind == "debate"],
        "done": request[GETTEXT](done) if done else None})


async def _thread(db, space_id: int, root_uri: str) -> list[tuple[RemoteItem, int]]:
    """The replies under ``root_uri`` in reading order, with their depth: one query a level.
    A comment this node's moderators hid stays as a placeholder, without its replies."""
    children: dict[str, list[RemoteItem]] = {}
    level = [root_uri]
    for _ in range(MAX_THREAD_DEPTH):
        found = (await db.scalars(select(RemoteItem).where(RemoteItem.remote_space_id == space_id,
                                                           RemoteItem.kind == "comment",
                                                           RemoteItem.in_reply_to.in_(level))
                                  .order_by(RemoteItem.published, RemoteItem.id))).all()
        if not found:
            break
        for item in found:
            children.setdefault(item.in_reply_to, []).append(item)
        level = [item.uri for item in found]
    ordered: list[tuple[RemoteItem, int]] = []
    ids = [item.id for found in children.values() for item in found]
    hidden = set((await db.scalars(select(Moderation.subject_id).where(
        Moderation.subject_type == REMOTE_SUBJECT, Moderation.subject_id.in_(ids),
        Moderation.hidden_at.is_not(None)))).all()) if ids else set()

    def walk(uri: str, depth: int) -> None:
        for item in children.get(uri, []):
            item.hidden_here = item.id in hidden
            ordered.append((item, depth))
            if not item.hidden_here:
                walk(item.uri, depth + 1)

    walk(root_uri, 0)
    return ordered


async def remote_item(request: web.Request) -> web.Response:
    space_id, item_id = _id(request, "space_id"), _id(request, "item_id")
    async with request.app[DB]() as db:
        row = (await db.execute(select(RemoteItem, RemoteSpace).join(RemoteSpace)
                                .where(RemoteItem.id == item_id, RemoteSpace.id == space_id,
                                       RemoteItem.kind != "comment"))).first()
        if row is None:
            raise user_error(404, "Nothing from another node has this address here.")
        item, space = row
        if await is_hidden(db, REMOTE_SUBJECT, item.id):
            raise user_error(404, "This node's moderators hid this content.")
        thread = await _thread(db, space.id, item.uri)
        from node.cohosting.views import participation_context  # co-hosted spaces only

        taking_part = await participation_context(request, db, space, item)
    return render(request, "federation/item.html", {"space": space, "item": item, "thread": thread, **taking_part})


async def unfollow(request: web.Request) -> web.Response:
    user = require_user(request)
    space_id = _id(request, "space_id")
    await request.post()  # the CSRF middleware has checked the token
    if not await unfollow_space(request.app, user, space_id):
        raise user_error(404, "You do not follow this space.")
    raise web.HTTPSeeOther(str(request.app.router["remote_space"].url_for(space_id=str(space_id))
                               .with_query(done="unfollowed")))
