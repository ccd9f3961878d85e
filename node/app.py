"""Application factory: Settings -> aiohttp Application."""
from __future__ import annotations

import aiohttp_session
from aiohttp import web

from node.appkeys import CATALOGS, DB, ENGINE, NODE_INFO, NODE_INFO_LOADED, SETTINGS
from node.components.registry import kinds
from node.config import Settings
from node.db import make_engine, make_sessionmaker
from node.db.schema import schema_status
from node.i18n import load_catalogs
from node.mail import setup_mail
from node.site import refresh_node_info
from node.web import pages
from node.web.cache import cache_routes, page_cache_middleware, setup_page_cache
from node.web.context import context_middleware
from node.web.csrf import make_csrf_middleware
from node.web.errors import error_middleware
from node.web.idle import setup_idle_trim
from node.web.render import make_static_handler, setup_templates
from node.web.security import add_security_headers
from node.web.sessions import DatabaseStorage


class SchemaMismatch(RuntimeError):
    """The database schema does not match the code (message says what to run)."""


def _route_setups():
    # Imported here so that each package's views import the app machinery, not the reverse.
    from node.accounts.views import setup_routes as accounts
    from node.activitypub.discovery import setup_routes as activitypub
    from node.activitypub.following import setup_routes as following
    from node.activitypub.inbox import setup_routes as inbox
    from node.activitypub.worker import setup_delivery as delivery
    from node.admin.routes import setup_routes as admin
    from node.cohosting.routes import setup_routes as cohosting
    from node.api import setup_routes as api
    from node.moderation.routes import setup_routes as moderation
    from node.notifications.routes import setup_routes as notifications
    from node.opendata.routes import setup_routes as opendata
    from node.search.routes import setup_routes as search
    from node.spaces.views import setup_routes as spaces
    from node.verification.views import setup_routes as verification
    from node.groups.views import setup_routes as groups

    return [accounts, spaces, admin, api, opendata, search, activitypub, inbox, following, delivery, moderation,
            notifications, verification, groups, cohosting]


def create_app(settings: Settings, *, check_schema: bool = True) -> web.Application:
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            error_middleware,
            aiohttp_session.session_middleware(
                DatabaseStorage(sessionmaker, max_age=settings.session_ttl_seconds,
                                secure=settings.secure_cookies)),
            context_middleware,
            make_csrf_middleware(settings.secret_key, _origin(settings.base_url), settings.secure_cookies),
            # Innermost: it needs the language and the CSRF token set by the two above.
            page_cache_middleware,
        ],
    )
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[DB] = sessionmaker
    app[CATALOGS] = load_catalogs(cache_dir=settings.data_dir / "cache")
    app[NODE_INFO] = {}
    app[NODE_INFO_LOADED] = {}
    setup_page_cache(app, engine)
    setup_templates(app, settings)
    app.on_response_prepare.append(add_security_headers)
    setup_idle_trim(app)
    setup_mail(app)

    app.router.add_get("/", pages.home, name="home")
    app.router.add_get("/healthz", pages.healthz, name="healthz")
    app.router.add_post("/locale", pages.set_locale, name="set_locale")
    app.router.add_get("/static/{path:.+}", make_static_handler(settings), name="static")
    for setup in _route_setups():
        setup(app)
    for kind in kinds().values():
        kind.setup_routes(app)
    cache_routes(app, "home", "spaces", "space", "component")

    async def startup(app: web.Application) -> None:
        if check_schema:
            problem = (await schema_status(engine)).problem()
            if problem:
                raise SchemaMismatch(problem)
        await refresh_node_info(app, force=True)

    async def cleanup(app: web.Application) -> None:
        await engine.dispose()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app


def _origin(base_url: str) -> str | None:
    if not base_url:
        return None
    scheme, _, rest = base_url.partition("://")
    return f"{scheme}://{rest.split('/')[0]}"
