"""Templates with a theme chain (the configured theme, then `default`) and the static files."""
from __future__ import annotations

import datetime
import mimetypes
import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.dates import format_date, format_datetime
from markupsafe import Markup, escape
from sqlalchemy.engine import Row

from node import __version__
from node.appkeys import CSRF_TOKEN, GETTEXT, LOCALE, NGETTEXT, NODE_INFO, USER
from node.config import LOCALES, Settings
from node.i18n import LANGUAGE_NAMES, pick
from node.web.cache import FragmentCache
from node.web.text import render_text

FRAGMENTS = web.AppKey("fragments", FragmentCache)
# The templates' `url()`, one per application (node.web.render.url_builder).
URLS = web.AppKey("template_urls", object)


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
        **_formatters(request.app, locale),
    }


def _formatters(app: web.Application, locale: str) -> dict:
    """What a template may use that depends on the language and the node's routes only."""
    return {
        "format_date": lambda value, fmt="medium": _date(value, fmt, locale) if value else "",
        "format_datetime": lambda value, fmt="medium": _datetime(value, fmt, locale) if value else "",
        "url": app[URLS],
    }


def url_builder(router: web.UrlDispatcher):
    """The templates' `url(name, query=None, **parts)`. A page asks for twenty-odd addresses, most
    of them the same on every page (navigation, forms) and each costing a route lookup and a URL
    build: those without a query are kept, since a route never changes once the node runs."""
    @lru_cache(maxsize=4096)
    def plain(name: str, parts: tuple) -> str:
        return str(router[name].url_for(**dict(parts)))

    def url(name: str, query=None, **parts) -> str:
        if query:
            return str(router[name].url_for(**{k: str(v) for k, v in parts.items()}).with_query(query))
        return plain(name, tuple((k, str(v)) for k, v in parts.items()))
    return url


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
    env.globals["fragment"] = fragment
    app[URLS] = url_builder(app.router)
    env.filters["tuple"] = tuple  # a list built in a template, as a fragment's value
    app[FRAGMENTS] = FragmentCache()
    return env


class _Fragments(NamedTuple):
    """What a fragment's context holds instead of the request (node.web.render.fragment)."""
    app: web.Application
    locale: str
    gettext: object  # None: messages shown as written
    ngettext: object


_FRAGMENTS_VAR = "fragments_of"


def _translations(context) -> tuple:
    request = context.get("request")
    if request is not None:
        return request.get(GETTEXT), request.get(NGETTEXT)
    inside = context.get(_FRAGMENTS_VAR)
    return (inside.gettext, inside.ngettext) if inside is not None else (None, None)


@jinja2.pass_context
def _gettext(context, message: str) -> str:
    gettext = _translations(context)[0]
    return gettext(message) if gettext is not None else message


@jinja2.pass_context
def _ngettext(context, singular: str, plural: str, count: int) -> str:
    ngettext = _translations(context)[1]
    if ngettext is not None:
        return ngettext(singular, plural, count)
    return singular if count == 1 else plural


# Stands for the visitor's CSRF token in a kept fragment (random, so no text a resident writes
# can contain it); each page gets its own token in its place.
_FRAGMENT_CSRF = secrets.token_hex(32)
_BY_VALUE = (str, int, float, type(None), datetime.date, datetime.time, datetime.timedelta, Decimal,
             jinja2.Undefined)


def _by_value(value) -> bool:
    """Compared by value, not identity (an ORM object is not: its key would never match again)."""
    if isinstance(value, _BY_VALUE):
        return True
    return isinstance(value, (tuple, frozenset, Row)) and all(map(_by_value, value))


@jinja2.pass_context
def fragment(context, name: str, **values) -> Markup:
    """`{{ fragment("x.html", a=..., b=...) }}`: the template `name` rendered with only `values`
    (and the language's gettext, format_date/format_datetime, url and csrf_token), kept in the
    app's FragmentCache under everything it was rendered from.

    The fragment cannot see the request or the user, so what it shows of the viewer must be
    passed in `values`, and is then part of the key: two visitors share an entry only when it
    is the same HTML for both.  Values must compare by value (str, numbers, dates, tuples of
    them, named tuples, rows: anything else is a TypeError), and values that compare equal must
    show alike (a slot takes one kind of value: not True here and 1 there, not str and Markup).
    A fragment may call fragment() in turn (a thread of comments, each comment kept on its own).
    """
    request = context.get("request")
    if request is not None:
        of = _Fragments(request.app, request.get(LOCALE, "en"), request.get(GETTEXT), request.get(NGETTEXT))
    else:
        of = context[_FRAGMENTS_VAR]
    template = context.environment.get_template(name)  # reloaded from disk when it changed
    key = (template, of.locale, of.gettext, tuple(values.items()))
    cache = of.app[FRAGMENTS]
    parts = cache.get(key)
    if parts is None:
        wrong = [k for k, v in values.items() if not _by_value(v)]
        if wrong:
            raise TypeError(f"fragment {name}: {', '.join(wrong)} must compare by value")
        html = template.render({**values, **_formatters(of.app, of.locale), "locale": of.locale,
                                "csrf_token": _FRAGMENT_CSRF, _FRAGMENTS_VAR: of})
        parts = tuple(html.split(_FRAGMENT_CSRF))
        cache.put(key, parts)
    if len(parts) == 1:
        return Markup(parts[0])
    # The page's token; inside another fragment, the placeholder again (replaced with the outer).
    return Markup(str(escape(context.get("csrf_token") or "")).join(parts))


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
