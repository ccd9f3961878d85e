"""Registration, log-in and log-out pages. Password reset: reset.py; profiles: profile.py."""
from __future__ import annotations

import asyncio
import math

from aiohttp import web
from aiohttp_session import get_session

from node.accounts import profile, reset, throttle
from node.accounts.forms import client_address, render_form, start_session, text
from node.web.urls import safe_next
from node.accounts.models import User
from node.accounts.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from node.accounts.service import AccountError, create_user, find_for_login
from node.appkeys import DB, LOCALE, NODE_INFO, SETTINGS
from node.db.base import utcnow
from node.web.errors import user_error
from node.i18n import N_
from node.moderation.accounts import BLOCKED_LOGIN, blocked_login

REGISTER_FIELDS = ("username", "nickname", "email", "locale")
LOGIN_FAILED = N_("The username, email address or password is not right. Check them and try again.")


def _require_open_registration(request: web.Request) -> None:
    if not request.app[NODE_INFO].get("registration_open", True):
        raise user_error(403, "Registration is closed on this node. If you live here and need an "
                              "account, contact the people who run it.")


async def register_form(request: web.Request) -> web.Response:
    _require_open_registration(request)
    values = {"locale": request[LOCALE], "next": safe_next(request.query.get("next", ""), "")}
    return render_form(request, "accounts/register.html", values)


async def register(request: web.Request) -> web.Response:
    _require_open_registration(request)
    form = await request.post()
    values = {name: text(form, name) for name in REGISTER_FIELDS}
    values["next"] = safe_next(text(form, "next"), "")
    password = text(form, "password")
    mismatch = {}
    if password != text(form, "password_confirm"):
        mismatch["password_confirm"] = N_("The two passwords differ; type the same password twice.")
    try:
        async with request.app[DB].begin() as db:
            user = await create_user(db, username=values["username"], email=values["email"],
                                     password=password, nickname=values["nickname"],
                                     locale=values["locale"] or None)
            if mismatch:
                raise AccountError(mismatch)  # rolls the new account back
            await start_session(request, db, user)
    except AccountError as exc:
        return render_form(request, "accounts/register.html", values, {**exc.errors, **mismatch})
    raise web.HTTPSeeOther(values["next"] or str(request.app.router["profile"].url_for(
        username=user.username)))


async def login_form(request: web.Request) -> web.Response:
    values = {"next": safe_next(request.query.get("next", ""), "")}
    return render_form(request, "accounts/login.html", values)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    settings = request.app[SETTINGS]
    identifier = text(form, "username").strip()
    password = text(form, "password")
    values = {"username": identifier, "next": safe_next(text(form, "next"), "")}
    errors = {}
    if not identifier:
        errors["username"] = N_("Enter your username or email address.")
    if not password:
        errors["password"] = N_("Enter your password.")
    if errors:
        return render_form(request, "accounts/login.html", values, errors)

    address = client_address(request)
    async with request.app[DB]() as db:
        user = await find_for_login(db, identifier)
        key = user.username if user else throttle.account_key(identifier)
        wait = await throttle.seconds_locked(db, settings, key, address)
    if wait:
        response = render_form(request, "accounts/login.html", values, status=429,
                               locked_minutes=math.ceil(wait / 60))
        response.headers["Retry-After"] = str(wait)
        return response

    # An unknown account costs the same argon2 verification as a wrong password, so neither
    # the answer nor its timing tells whether the account exists.
    stored_hash = user.password_hash if user else dummy_hash()
    valid = await asyncio.to_thread(verify_password, stored_hash, password[:1024])
    if valid and user and await blocked_login(request, user):
        return render_form(request, "accounts/login.html", values, {"form": BLOCKED_LOGIN}, status=403)
    async with request.app[DB].begin() as db:
        if not (valid and user):
            await throttle.record_failure(db, settings, key, address)
        else:
            user = await db.get(User, user.id)
            await throttle.clear_failures(db, user.username)
            user.last_login_at = utcnow()
            if needs_rehash(user.password_hash):
                user.password_hash = await asyncio.to_thread(hash_password, password)
            await start_session(request, db, user)
    if not (valid and user):
        return render_form(request, "accounts/login.html", values, {"form": LOGIN_FAILED})
    raise web.HTTPSeeOther(values["next"] or "/")


async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther("/")


def setup_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/register", register_form, name="register")
    add.add_post("/register", register)
    add.add_get("/login", login_form, name="login")
    add.add_post("/login", login)
    add.add_post("/logout", logout, name="logout")
    reset.setup_routes(app)
    profile.setup_routes(app)

