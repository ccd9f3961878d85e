"""Public profile pages and the logged-in user's own settings (profile, language, password)."""
from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import select

from node.accounts import throttle
from node.accounts.forms import client_address, render_form, start_session, text
from node.accounts.models import User
from node.accounts.passwords import verify_password
from node.accounts.service import AccountError, set_password, update_profile
from node.activitypub.actors import user_actor
from node.activitypub.negotiation import wants_activity_json
from node.appkeys import DB, SETTINGS
from node.config import LOCALES
from node.web.context import LANG_COOKIE, require_user
from node.web.errors import user_error
from node.web.render import render
from node.web.sessions import end_user_sessions
from node.i18n import N_
from node.notifications.follows import follow_state
from node.moderation.visibility import is_blocked

TOO_MANY = N_("Too many wrong passwords were typed for this account. Wait a few minutes and try again.")
SAVED_MESSAGES = {
    "profile": N_("Your changes were saved."),
    "password": N_("Your new password is set. You were logged out everywhere else."),
}


async def profile(request: web.Request) -> web.Response:
    username = request.match_info["username"].lower()
    member = None
    if len(username) <= 30:
        async with request.app[DB]() as db:
            member = await db.scalar(select(User).where(User.username == username))
            blocked = member is not None and await is_blocked(db, member.id)
    if member is None:
        raise user_error(404, "No member of this node has this username. Check the address.")
    if wants_activity_json(request):
        return await user_actor(request, member)
    return render(request, "accounts/profile.html", {"member": member, "member_blocked": blocked,
                                                     "follow": await follow_state(request, "user", member.id)})


def _profile_values(user: User) -> dict:
    return {"nickname": user.nickname, "about": user.about or "", "locale": user.locale or ""}


def _settings_page(request: web.Request, user: User, *, values: dict | None = None,
                   errors: dict | None = None, password_errors: dict | None = None) -> web.Response:
    saved = SAVED_MESSAGES.get(request.query.get("saved", ""))
    failed = bool(errors or password_errors)
    return render_form(request, "accounts/settings.html", values or _profile_values(user),
                       errors, status=422 if failed else 200,
                       password_errors=password_errors or {}, saved=None if failed else saved)


async def settings_form(request: web.Request) -> web.Response:
    user = require_user(request)
    return _settings_page(request, user)


async def save_settings(request: web.Request) -> web.Response:
    user = require_user(request)
    form = await request.post()
    values = {name: text(form, name) for name in ("nickname", "about", "locale")}
    locale = values["locale"] or None
    try:
        async with request.app[DB].begin() as db:
            stored = await db.get(User, user.id)
            await update_profile(db, stored, nickname=values["nickname"], about=values["about"],
                                 locale=locale)
    except AccountError as exc:
        return _settings_page(request, user, values=values, errors=exc.errors)
    response = web.HTTPSeeOther(str(request.app.router["account_settings"].url_for()
                                    .with_query(saved="profile")))
    if locale in LOCALES:
        # Keeps the chosen language after logging out on this browser too.
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, path="/")
    raise response


async def change_password(request: web.Request) -> web.Response:
    user = require_user(request)
    form = await request.post()
    settings = request.app[SETTINGS]
    address = client_address(request)
    current = text(form, "current_password")
    # Throttled like the login form: a borrowed session must not become a password oracle.
    async with request.app[DB]() as db:
        wait = await throttle.seconds_locked(db, settings, user.username, address)
        stored_hash = (await db.get(User, user.id)).password_hash
    if wait:
        return _settings_page(request, user, password_errors={"current_password": TOO_MANY})
    if not current or not await asyncio.to_thread(verify_password, stored_hash, current[:1024]):
        async with request.app[DB].begin() as db:
            await throttle.record_failure(db, settings, user.username, address)
        return _settings_page(request, user, password_errors={
            "current_password": N_("This is not your current password.")})
    try:
        async with request.app[DB].begin() as db:
            stored = await db.get(User, user.id)
            await set_password(db, stored, text(form, "password"), text(form, "password_confirm"))
            # A changed password should lock out whoever else knew the old one.
            await end_user_sessions(db, stored.id)
            await start_session(request, db, stored)
    except AccountError as exc:
        return _settings_page(request, user, password_errors=exc.errors)
    raise web.HTTPSeeOther(str(request.app.router["account_settings"].url_for()
                               .with_query(saved="password")))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/users/{username}", profile, name="profile")
    app.router.add_get("/account", settings_form, name="account_settings")
    app.router.add_post("/account", save_settings)
    app.router.add_post("/account/password", change_password, name="account_password")
