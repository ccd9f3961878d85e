"""Templates with a theme chain (the configured theme, then `default`) and the static files."""
from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.dates import format_date, format_datetime

from node import __version__
from node.appkeys import CSRF_TOKEN, GETTEXT, LOCALE, NGETTEXT, NODE_INFO, USER
from node.config import LOCALES, Settings
from node.i18n import LANGUAGE_NAMES, pick
from node.web.text import render_text


def theme_dirs(settings: Settings, part: str) -> list[Path]:
    root = settings.resolved_themes_dir()
    names = [settings.theme] if settings.theme != "default" else []
    return [root / name / part for name in [*names, "default"] if (root / name / part).is_dir()]


def base_context(request: web.Request) -> dict:
    locale = request.get(LOCALE, "en")
    node_info = request.app[NODE_INFO]
    default = node_info.get("default_locale", "en")
    return {
        "request": request,
        "user": request.get(USER),
        "locale": locale,
        "locales": LOCALES,
        "language_names": LANGUAGE_NAMES,
        "node": node_info,
        "version": __version__,
        "csrf_token": request.get(CSRF_TOKEN, ""),
        "t": lambda field: pick(field, locale, default),
        "format_date": lambda value, fmt="medium": _date(value, fmt, locale) if value else "",
        "format_datetime": lambda value, fmt="medium": _datetime(value, fmt, locale) if value else "",
        "url": lambda name, query=None, **parts: str(
            request.app.router[name].url_for(**{k: str(v) for k, v in parts.items()}).with_query(query)),
    }


# Babel's formatting costs as much as the rest of a list row; the same dates are shown again and
# again (a list page has 20), and a formatted date never changes.
@lru_cache(maxsize=4096)
def _date(value, fmt: str, locale: str) -> str:
    return format_date(value, fmt, locale=locale)


@lru_cache(maxsize=4096)
def _datetime(value, fmt: str, locale: str) -> str:
    return format_datetime(value, fmt, locale=locale)


def setup_templates(app: web.Application, settings: Settings) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([str(path) for path in theme_dirs(settings, "templates")])
    env = aiohttp_jinja2.setup(
        app, loader=loader, autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True, lstrip_blocks=True,
    )
    # Newstyle gettext: `_("Hello %(name)s", name=x)` escapes x and formats after translating.
    # The callables read the request's catalogue, so one environment serves every language.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    # Text written by the node's staff, and text written by residents (links marked ugc).
    env.filters["richtext"] = lambda text: render_text(text, user_content=False)
    env.filters["usertext"] = render_text
    return env


@jinja2.pass_context
def _gettext(context, message: str) -> str:
    request = context.get("request")
    return request[GETTEXT](message) if request is not None and GETTEXT in request else message


@jinja2.pass_context
def _ngettext(context, singular: str, plural: str, count: int) -> str:
    request = context.get("request")
    if request is not None and NGETTEXT in request:
        return request[NGETTEXT](singular, plural, count)
    return singular if count == 1 else plural


def render(request: web.Request, template: str, context: dict | None = None,
           status: int = 200) -> web.Response:
    # The base context is computed here rather than by aiohttp_jinja2's context processors so
    # that error pages raised before the inner middlewares ran still get it.
    return aiohttp_jinja2.render_template(template, request, {**base_context(request), **(context or {})},
                                          status=status)


def make_static_handler(settings: Settings):
    roots = [path.resolve() for path in theme_dirs(settings, "static")]

    async def static(request: web.Request) -> web.StreamResponse:
        relative = request.match_info["path"]
        for root in roots:
            candidate = (root / relative).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                response = web.FileResponse(candidate, headers={"Cache-Control": "public, max-age=3600"})
                if not mimetypes.guess_type(candidate.name)[0]:
                    response.content_type = "application/octet-stream"
                return response
        raise web.HTTPNotFound()

    return static
