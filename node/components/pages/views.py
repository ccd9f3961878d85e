"""The pages component: one body per language, written as plain text with a little Markdown
and shown as sanitised HTML (node.web.text)."""
from __future__ import annotations

from aiohttp import web

from node.appkeys import LOCALE, NODE_INFO
from node.config import LOCALES
from node.i18n import pick
from node.spaces.service import too_long
from node.web.text import render_text
from node.web.render import render

BODY_LIMIT = 50_000


def setup_routes(app) -> None:
    # The page lives at the generic component address; no routes of its own.
    pass


async def view(request: web.Request, space, component) -> web.Response:
    default = request.app[NODE_INFO].get("default_locale", "en")
    body = pick(component.settings.get("body"), request[LOCALE], default)
    return render(request, "components/pages/show.html",
                  {"space": space, "component": component, "body_html": render_text(body)})


def parse_settings(form, settings: dict) -> tuple[dict, dict]:
    errors = {}
    body = {}
    for lang in LOCALES:
        text = str(form.get(f"body.{lang}", "")).replace("\r\n", "\n").strip()
        if len(text) > BODY_LIMIT:
            errors[f"body.{lang}"] = too_long(BODY_LIMIT)
        if text:
            body[lang] = text
    return {"body": body}, errors
