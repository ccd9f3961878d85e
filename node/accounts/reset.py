"""Password reset by emailed link: /password/forgot, then /password/reset/{token}.

The token is random (secrets.token_urlsafe); only its SHA-256 is stored, it expires after
`password_reset_ttl_seconds` and works once. The forgot page answers the same whether or not
the address belongs to an account, and the mail is sent in the background so that the response
time does not tell either.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select, update

from node.accounts.forms import render_form, start_session, text
from node.accounts.models import PasswordResetToken, User
from node.accounts.service import EMAIL_RE, AccountError, set_password
from node.appkeys import CATALOGS, DB, LOCALE, NODE_INFO, SETTINGS
from node.db.base import utcnow
from node.mail import send_in_background
from node.web.render import render
from node.web.sessions import end_user_sessions
from node.i18n import N_

# Bounds the number of mails anyone can make us send to one person.
MAX_LIVE_TOKENS = 3
MAX_TOKEN_LENGTH = 128


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(db, settings, user: User) -> str | None:
    """A new reset token for `user`, or None when enough unexpired ones are already out."""
    now = utcnow()
    live = await db.scalar(select(func.count()).select_from(PasswordResetToken).where(
        PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None),
        PasswordResetToken.expires_at > now))
    if live >= MAX_LIVE_TOKENS:
        return None
    token = secrets.token_urlsafe(32)
    db.add(PasswordResetToken(token_hash=token_digest(token), user_id=user.id, created_at=now,
                              expires_at=now + timedelta(seconds=settings.password_reset_ttl_seconds)))
    return token


async def find_token(db, token: str, *, for_update: bool = False):
    """(row, problem): problem is None, "unknown", "used" or "expired"."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None, "unknown"
    query = select(PasswordResetToken).where(PasswordResetToken.token_hash == token_digest(token))
    if for_update:
        query = query.with_for_update()
    row = await db.scalar(query)
    if row is None:
        return None, "unknown"
    if row.used_at is not None:
        return row, "used"
    if row.expires_at <= utcnow():
        return row, "expired"
    return row, None


def _invalid_page(request: web.Request, problem: str) -> web.Response:
    # 410: the link existed but is spent; 400: it never was one of ours (mistyped, cut off).
    status = 400 if problem == "unknown" else 410
    return render(request, "accounts/reset_invalid.html", {"problem": problem}, status=status)


def _reset_mail(request: web.Request, user: User, link: str) -> tuple[str, str]:
    settings = request.app[SETTINGS]
    _ = request.app[CATALOGS][user.locale or request[LOCALE]].gettext
    node_name = request.app[NODE_INFO].get("node_name") or settings.node_name
    minutes = max(1, settings.password_reset_ttl_seconds // 60)
    subject = _("Reset your password on %(node)s") % {"node": node_name}
    body = "\n\n".join([
        _("Hello %(name)s,") % {"name": user.nickname},
        _("Someone, probably you, asked to reset the password of the account %(username)s "
          "on %(node)s.") % {"username": user.username, "node": node_name},
        _("To choose a new password, open this link within %(minutes)s minutes:")
        % {"minutes": minutes} + "\n" + link,
        _("If you did not ask for this, ignore this message: your password stays the same."),
    ]) + "\n"
    return subject, body


async def forgot_form(request: web.Request) -> web.Response:
    return render_form(request, "accounts/forgot.html", {})


async def forgot(request: web.Request) -> web.Response:
    form = await request.post()
    email = text(form, "email").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        return render_form(request, "accounts/forgot.html", {"email": text(form, "email")[:254]},
                           {"email": N_("Enter an email address like name@example.org.")})
    settings = request.app[SETTINGS]
    async with request.app[DB].begin() as db:
        user = await db.scalar(select(User).where(User.email == email))
        token = await issue_token(db, settings, user) if user else None
    if token:
        base = settings.base_url or f"{request.scheme}://{request.host}"
        link = base + str(request.app.router["password_reset"].url_for(token=token))
        subject, body = _reset_mail(request, user, link)
        send_in_background(request.app, settings, user.email, subject, body)
    return render(request, "accounts/forgot_sent.html", {"email": email})


async def reset_form(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    async with request.app[DB]() as db:
        _row, problem = await find_token(db, token)
    if problem:
        return _invalid_page(request, problem)
    return render_form(request, "accounts/reset.html", {}, token=token)


class _TokenSpent(Exception):
    """Another request used the token between our read and our write."""


async def reset(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            row, problem = await find_token(db, token, for_update=True)
            if problem:
                return _invalid_page(request, problem)
            user = await db.get(User, row.user_id)
            await set_password(db, user, text(form, "password"), text(form, "password_confirm"))
            now = utcnow()
            # Conditional update: of two simultaneous submissions only one can spend the token.
            spent = await db.execute(update(PasswordResetToken).where(
                PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None)
            ).values(used_at=now))
            if spent.rowcount != 1:
                raise _TokenSpent
            # The other links sent to this person are void once they chose a password.
            await db.execute(update(PasswordResetToken).where(
                PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
            ).values(used_at=now))
            # Whoever knew the old password may be logged in somewhere: log them out.
            await end_user_sessions(db, user.id)
            await start_session(request, db, user)
    except AccountError as exc:
        return render_form(request, "accounts/reset.html", {}, exc.errors, token=token)
    except _TokenSpent:
        return _invalid_page(request, "used")
    location = request.app.router["account_settings"].url_for().with_query(saved="password")
    raise web.HTTPSeeOther(str(location))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/password/forgot", forgot_form, name="password_forgot")
    app.router.add_post("/password/forgot", forgot)
    app.router.add_get("/password/reset/{token}", reset_form, name="password_reset")
    app.router.add_post("/password/reset/{token}", reset)
