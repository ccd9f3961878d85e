"""Friendly error pages (HTML for people, JSON for API clients) and user-facing errors.

Handlers raise `user_error(status, message)` (or any aiohttp HTTPException); the message is an
English gettext msgid, shown translated in the visitor's language.
"""
from __future__ import annotations

import logging

from aiohttp import web

from node.appkeys import GETTEXT
from node.i18n import N_
from node.web.render import render

log = logging.getLogger("civicnode.web")

TITLES = {
    400: N_("The request could not be understood"),
    401: N_("You need to log in"),
    403: N_("You are not allowed to do this"),
    404: N_("Page not found"),
    405: N_("This action is not available here"),
    409: N_("This conflicts with what is already there"),
    413: N_("What you sent is too large"),
    422: N_("Some fields need your attention"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
}
DEFAULT_MESSAGES = {
    400: N_("Check what you typed and try again."),
    403: N_("If you think you should be allowed, contact the people who run this node."),
    404: N_("The address may be mistyped, or the page was moved or removed."),
    405: N_("Go back to the previous page and use its buttons or links."),
    413: N_("Send something smaller and try again."),
    429: N_("Wait a few minutes before trying again."),
    500: N_("The error was logged. Try again in a moment; if it happens again, tell the node's administrators."),
}
# Headers an error response must keep (cookies issued on the way, Allow, Retry-After…).
KEPT_HEADERS = ("Set-Cookie", "Allow", "Retry-After", "WWW-Authenticate", "Location")


_ERROR_CLASSES = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
    404: web.HTTPNotFound, 409: web.HTTPConflict, 413: web.HTTPRequestEntityTooLarge,
    422: web.HTTPUnprocessableEntity, 429: web.HTTPTooManyRequests, 502: web.HTTPBadGateway,
}


def user_error(status: int, message: str, **kwargs) -> web.HTTPException:
    """An HTTP error whose message (a gettext msgid) tells the visitor what to do."""
    exc = _ERROR_CLASSES[status](**kwargs)
    exc.user_message = message
    return exc


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return (request.path.startswith("/api/") or "json" in accept.split(",")[0]
            or request.content_type in ("application/json", "application/activity+json"))


def _message(exc: web.HTTPException) -> str:
    message = getattr(exc, "user_message", None)
    if message:
        return message
    reason = exc.reason or ""
    # aiohttp's own reasons ("Not Found") add nothing to the title; custom ones are messages.
    if reason and reason != web.HTTPException.__dict__.get("reason") and reason not in (
            "Not Found", "Forbidden", "Bad Request", "Method Not Allowed", "Request Entity Too Large",
            "Internal Server Error", "Unauthorized", "Conflict", "Unprocessable Entity",
            "Too Many Requests", "Payload Too Large", "Content Too Large"):
        return reason
    return DEFAULT_MESSAGES.get(exc.status, "")


def error_response(request: web.Request, status: int, message: str,
                   source: web.HTTPException | None = None) -> web.Response:
    translate = request.get(GETTEXT) or (lambda s: s)
    title = translate(TITLES.get(status, N_("Error")))
    text = translate(message) if message else ""
    if _wants_json(request):
        response = web.json_response({"error": title, "message": text, "status": status}, status=status)
    else:
        try:
            response = render(request, "error.html", {"status": status, "title": title, "message": text},
                              status=status)
        except Exception:  # the error page itself must never fail
            log.exception("rendering the error page failed")
            response = web.Response(text=f"{status} {title}\n{text}\n", status=status)
    if source is not None:
        for name in KEPT_HEADERS:
            for value in source.headers.getall(name, []):
                response.headers.add(name, value)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(request, exc.status, _message(exc), exc)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500, DEFAULT_MESSAGES[500])
