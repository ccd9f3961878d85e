"""Who is asking and in which language: sets request["user"], request["locale"], gettext."""
from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from node.accounts.models import User
from node.appkeys import CATALOGS, DB, GETTEXT, LOCALE, NGETTEXT, NODE_INFO, SETTINGS, USER
from node.i18n import negotiate
from node.site import refresh_node_info
from node.web.sessions import COOKIE_NAME, SESSION_USER

LANG_COOKIE = "civicnode_lang"


async def current_user(request: web.Request) -> User | None:
    # No cookie, no database round trip: anonymous pages stay cheap.
    if COOKIE_NAME not in request.cookies:
        return None
    session = await get_session(request)
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = request.get(SESSION_USER)
    if user is None or user.id != user_id:  # loaded with the session, else (a new login) read now
        async with request.app[DB]() as db:
            user = await db.get(User, user_id)
    if user is None:
        session.invalidate()
    return user


_NO_VISITOR_ATTR = "__no_visitor__"


def server_to_server(handler):
    """For endpoints only other servers call (signed inboxes): there is no visitor to load and
    no language to negotiate, and a busy inbox should not pay for either on every POST."""
    setattr(handler, _NO_VISITOR_ATTR, True)
    return handler


@web.middleware
async def context_middleware(request: web.Request, handler):
    if getattr(request.match_info.handler, _NO_VISITOR_ATTR, False):
        request[USER] = None
        return await handler(request)
    await refresh_node_info(request.app)
    user = await current_user(request)
    request[USER] = user
    default = request.app[NODE_INFO].get("default_locale") or request.app[SETTINGS].default_locale
    locale = negotiate(user.locale if user else None, request.cookies.get(LANG_COOKIE),
                       request.headers.get("Accept-Language"), default)
    request[LOCALE] = locale
    translations = request.app[CATALOGS][locale]
    request[GETTEXT] = translations.gettext
    request[NGETTEXT] = translations.ngettext
    response = await handler(request)
    if isinstance(response, web.StreamResponse) and not response.prepared:
        response.headers.setdefault("Content-Language", locale)
    return response


def require_user(request: web.Request) -> User:
    """The logged-in user, or a redirect to the login page that comes back here."""
    user = request.get(USER)
    if user is None:
        raise web.HTTPSeeOther(request.app.router["login"].url_for().with_query(next=request.path_qs))
    return user


def require_admin(request: web.Request) -> User:
    from node.web.errors import user_error

    user = require_user(request)
    if not user.is_admin:
        raise user_error(403, "Only the node's administrators can open this page.")
    return user
