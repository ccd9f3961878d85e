"""Typed keys for what the application holds (aiohttp AppKey), shared by every module."""
from __future__ import annotations

from aiohttp import web
from babel.support import NullTranslations
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from node.config import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker)
CATALOGS = web.AppKey("catalogs", dict[str, NullTranslations])
# Editable node settings (name, description…) cached in memory; refreshed when admins save.
NODE_INFO = web.AppKey("node_info", dict)
# When NODE_INFO was last read from the database ({"at": monotonic seconds}); other processes of
# the same node pick up an admin's change within node.site.REFRESH_SECONDS.
NODE_INFO_LOADED = web.AppKey("node_info_loaded", dict)

# Per-request values set by node.web.context and node.web.csrf.
USER = web.RequestKey("user", object)          # node.accounts.models.User | None
LOCALE = web.RequestKey("locale", str)
GETTEXT = web.RequestKey("gettext", object)    # str -> str in the request's language
NGETTEXT = web.RequestKey("ngettext", object)
CSRF_TOKEN = web.RequestKey("csrf_token", str)
