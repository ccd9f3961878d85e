"""Admin of users: search, and role changes (user, moderator, admin)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, or_, select

from node.accounts.models import ROLES, User
from node.accounts.service import AccountError, set_role
from node.admin.forms import done_message, int_param, redirect, translate_errors
from node.appkeys import DB, USER
from node.moderation.log import log_action
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

PAGE_SIZE = 50


class RoleError(Exception):
    pass


async def change_role(db, user: User, role: str) -> None:
    """Role changes go through the accounts service, which refuses to demote the last admin."""
    if user.role == "admin" and role != "admin":
        # Locking every admin row first makes two admins demoting each other at once take
        # turns, so the second one sees that only one admin is left.
        await db.execute(select(User.id).where(User.role == "admin").with_for_update())
    try:
        await set_role(db, user, role)
    except AccountError as exc:
        raise RoleError(exc.errors.get("role") or next(iter(exc.errors.values()))) from None
    await db.flush()


async def _search(db, query: str, page: int) -> tuple[list[User], int]:
    statement = select(User)
    if query:
        pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(
            func.lower(User.username).like(pattern, escape="\\"),
            func.lower(User.nickname).like(pattern, escape="\\"),
            func.lower(User.email).like(pattern, escape="\\")))
    total = await db.scalar(select(func.count()).select_from(statement.subquery()))
    users = (await db.scalars(statement.order_by(User.username)
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))).all()
    return list(users), total


async def users_list(request: web.Request, errors: dict | None = None, status: int = 200) -> web.Response:
    require_admin(request)
    query = request.query.get("q", "").strip()[:100]
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    async with request.app[DB]() as db:
        users, total = await _search(db, query, page)
    return render(request, "admin/users.html", {
        "users": users, "total": total, "q": query, "page": page, "roles": ROLES,
        "pages": max(1, -(-total // PAGE_SIZE)), "errors": translate_errors(request, errors or {}),
        "done": done_message(request)}, status=status)


async def user_role(request: web.Request) -> web.Response:
    require_admin(request)
    user_id = int_param(request, "user_id")
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            user = await db.get(User, user_id)
            if user is None:
                raise user_error(404, "No user has this address.")
            await change_role(db, user, str(form.get("role", "")))
            await log_action(db, request[USER], "user.role", subject_type="user", subject_id=user.id, data={"role": user.role})
    except RoleError as exc:
        return await users_list(request, {f"role-{user_id}": str(exc)}, status=422)
    if user_id == request[USER].id and form.get("role") != "admin":
        # They just gave up the admin area; send them somewhere they may still go.
        raise web.HTTPSeeOther(request.app.router["home"].url_for())
    raise redirect(request, "admin_users", "role")
