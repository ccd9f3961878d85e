"""The notification centre (/notifications), the Follow buttons and the email setting."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from node.accounts.models import User
from node.appkeys import DB
from node.db.base import utcnow
from node.i18n import N_
from node.notifications.follows import follow, unfollow
from node.notifications.models import EMAIL_MODES, SUBJECT_TYPES, Notification
from node.notifications.texts import TEXTS
from node.web.context import require_user
from node.web.errors import user_error
from node.web.render import render
from node.web.urls import safe_next

PER_PAGE = 30
SAVED = N_("Your notification settings were saved.")


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise user_error(400, "This page number is not valid.")
    return int(raw)


async def index(request: web.Request) -> web.Response:
    user = require_user(request)
    page = _page_number(request)
    actor = aliased(User)
    async with request.app[DB]() as db:
        rows = (await db.execute(
            select(Notification, func.coalesce(actor.nickname, Notification.actor_name)).outerjoin(actor, actor.id == Notification.actor_id)
            .where(Notification.user_id == user.id).order_by(Notification.id.desc())
            .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1))).all()
        unread = await db.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)))
    return render(request, "notifications/index.html", {
        "rows": rows[:PER_PAGE], "page": page, "more": len(rows) > PER_PAGE, "unread": unread,
        "texts": TEXTS, "saved": request.query.get("saved") == "1" and SAVED})


def _back(request: web.Request, form, default: str) -> str:
    value = form.get("next", "")
    return safe_next(value if isinstance(value, str) else "", default)


async def mark_read(request: web.Request) -> web.Response:
    user = require_user(request)
    form = await request.post()
    raw = request.match_info["notification_id"]
    mine = (Notification.id == (int(raw) if len(raw) < 12 else 0), Notification.user_id == user.id)
    async with request.app[DB].begin() as db:
        result = await db.execute(update(Notification).where(*mine, Notification.read_at.is_(None))
                                  .values(read_at=utcnow()))
        # Marking a read one again is fine (two tabs); someone else's is not found.
        if result.rowcount == 0 and await db.scalar(select(Notification.id).where(*mine)) is None:
            raise user_error(404, "You have no such notification.")
    raise web.HTTPSeeOther(_back(request, form, "/notifications"))


async def mark_all_read(request: web.Request) -> web.Response:
    user = require_user(request)
    form = await request.post()
    async with request.app[DB].begin() as db:
        await db.execute(update(Notification).where(Notification.user_id == user.id,
                                                    Notification.read_at.is_(None)).values(read_at=utcnow()))
    raise web.HTTPSeeOther(_back(request, form, "/notifications"))


async def _exists(db, subject_type: str, subject_id: int) -> bool:
    if subject_type == "user":
        return await db.get(User, subject_id) is not None
    if subject_type == "space":
        from node.spaces.models import Space

        space = await db.get(Space, subject_id)
        return space is not None and space.published
    from node.notifications.dispatch import _target

    return await _target(db, subject_type, subject_id) is not None


async def follow_view(request: web.Request) -> web.Response:
    user = require_user(request)
    form = await request.post()
    subject_type, raw_id, action = (str(form.get(name, "")) for name in ("subject_type", "subject_id", "action"))
    if subject_type not in SUBJECT_TYPES or not raw_id.isdigit() or len(raw_id) > 12 \
            or action not in ("follow", "unfollow"):
        raise user_error(400, "This follow request is not valid. Go back to the page and try again.")
    subject_id = int(raw_id)
    async with request.app[DB].begin() as db:
        if action == "unfollow":
            await unfollow(db, user.id, subject_type, subject_id)
        elif subject_type == "user" and subject_id == user.id:
            raise user_error(422, "You cannot follow yourself.")
        elif not await _exists(db, subject_type, subject_id):
            raise user_error(404, "There is nothing to follow at this address. It may have been removed.")
        else:
            await follow(db, user.id, subject_type, subject_id)
    raise web.HTTPSeeOther(_back(request, form, "/"))


async def email_setting(request: web.Request) -> web.Response:
    user = require_user(request)
    form = await request.post()
    mode = form.get("notification_email", "")
    if mode not in EMAIL_MODES:
        raise user_error(422, "Choose how often you want to receive notification emails.")
    async with request.app[DB].begin() as db:
        await db.execute(update(User).where(User.id == user.id).values(notification_email=mode))
    raise web.HTTPSeeOther(_back(request, form, "/notifications?saved=1"))
