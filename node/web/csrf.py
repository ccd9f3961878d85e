"""CSRF protection for every state-changing request (signed double-submit token).

Each browser gets a random `civicnode_csrf` cookie; forms carry HMAC(secret, cookie) in a hidden
`_csrf` field. A forged cross-site form cannot read the cookie, so it cannot compute the field.
The Origin header, when the browser sends one, must also be our own. Anonymous visitors are
protected without any server-side state.

Routes that are authenticated by other means (HTTP-signed ActivityPub inboxes) opt out with
`csrf_exempt`.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web

from node.appkeys import CSRF_TOKEN
from node.web.errors import user_error

COOKIE = "civicnode_csrf"
FIELD = "_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_EXEMPT_ATTR = "__csrf_exempt__"


def csrf_exempt(handler):
    setattr(handler, _EXEMPT_ATTR, True)
    return handler


def token_for(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def make_csrf_middleware(secret: str, public_origin: str | None, secure: bool):
    @web.middleware
    async def csrf_middleware(request: web.Request, handler):
        if _is_exempt(request):
            # Server-to-server endpoints (signed inboxes): no browser, no form, no cookie to set.
            return await handler(request)
        nonce = request.cookies.get(COOKIE)
        fresh = not nonce or len(nonce) > 64
        if fresh:
            nonce = secrets.token_urlsafe(24)
        request[CSRF_TOKEN] = token_for(secret, nonce)

        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin")
            if origin and origin != "null" and origin != _own_origin(request, public_origin):
                raise user_error(403, "This form was sent from another site; reload the page and try again.")
            if fresh:
                exc = user_error(403, "Your browser did not send the form's security cookie. "
                                       "Enable cookies for this site, reload the page and try again.")
                exc.set_cookie(COOKIE, nonce, httponly=True, samesite="Lax", secure=secure, path="/")
                raise exc
            sent = ""
            if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                sent = form.get(FIELD, "")
            sent = sent or request.headers.get("X-CSRF-Token", "")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, request[CSRF_TOKEN]):
                raise user_error(403, "The form's security token is missing or out of date. "
                                       "Reload the page and send the form again.")

        try:
            response = await handler(request)
        except web.HTTPException as exc:
            # Redirects and error pages are raised; they must carry a new cookie too.
            if fresh:
                exc.set_cookie(COOKIE, nonce, httponly=True, samesite="Lax", secure=secure, path="/")
            raise
        if fresh and isinstance(response, web.StreamResponse) and not response.prepared:
            response.set_cookie(COOKIE, nonce, httponly=True, samesite="Lax", secure=secure, path="/")
        return response

    return csrf_middleware


def _is_exempt(request: web.Request) -> bool:
    handler = request.match_info.handler
    return bool(getattr(handler, _EXEMPT_ATTR, False))


def _own_origin(request: web.Request, public_origin: str | None) -> str:
    if public_origin:
        return public_origin
    return f"{request.scheme}://{request.host}"
