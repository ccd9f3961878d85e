"""Small helpers shared by the account pages: reading form fields, safe redirects, client address."""
from __future__ import annotations

import ipaddress

from aiohttp import web
from aiohttp_session import get_session, new_session
from sqlalchemy import delete

from node.accounts.models import User, WebSession
from node.appkeys import SETTINGS
from node.web.render import render
from node.web.sessions import key_digest

def text(form, name: str) -> str:
    """A form field as text; a missing field or an uploaded file counts as empty."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def client_address(request: web.Request) -> str:
    peer = request.remote or "unknown"
    trusted = request.app[SETTINGS].trusted_proxies
    forwarded = request.headers.get("X-Forwarded-For", "")
    if peer in trusted and forwarded:
        # The right-most entry is the one our own proxy appended; earlier ones are client-supplied.
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    return peer[:64]


def render_form(request: web.Request, template: str, values: dict, errors: dict | None = None,
                status: int | None = None, **extra) -> web.Response:
    errors = errors or {}
    if status is None:
        status = 422 if errors else 200
    return render(request, template, {"values": values, "errors": errors, **extra}, status=status)


async def start_session(request: web.Request, db, user: User) -> None:
    """Log `user` in with a brand-new session key (the old one, if any, is dropped)."""
    old = await get_session(request)
    if old.identity:
        await db.execute(delete(WebSession).where(WebSession.key == key_digest(old.identity)))
    session = await new_session(request)
    session["user_id"] = user.id
