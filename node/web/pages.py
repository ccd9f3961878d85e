"""Node-level pages: home, health check, language switch."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select, text

from node.appkeys import DB, USER
from node.config import LOCALES
from node.spaces.models import Space
from node.web.context import LANG_COOKIE
from node.web.errors import user_error
from node.web.render import render
from node.web.urls import safe_next


async def home(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        spaces = (await db.scalars(
            select(Space).where(Space.published.is_(True)).order_by(Space.created_at.desc()).limit(50)
        )).all()
    return render(request, "home.html", {"spaces": spaces})


async def healthz(request: web.Request) -> web.Response:
    try:
        async with request.app[DB]() as db:
            await db.execute(text("SELECT 1"))
    except Exception as exc:  # report, do not crash: this is what monitoring reads
        return web.json_response({"status": "error", "database": str(exc)[:200]}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def set_locale(request: web.Request) -> web.Response:
    form = await request.post()
    locale = form.get("locale", "")
    if locale not in LOCALES:
        raise user_error(400, "Choose one of the languages offered.")
    response = web.HTTPSeeOther(safe_next(form.get("next", "/")))
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True, path="/")
    user = request.get(USER)
    if user is not None:
        async with request.app[DB].begin() as db:
            stored = await db.merge(user)
            stored.locale = locale
    raise response
