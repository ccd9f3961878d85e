"""Shared pieces of the verification pages: the resident's form page and its refusals."""
from __future__ import annotations

from aiohttp import web

from node.appkeys import GETTEXT
from node.i18n import N_
from node.web.context import require_user
from node.web.render import render


LOCKED = N_("Too many attempts today. Try again in %(hours)s hours, or contact the node's administrators.")


def form_values(form, names) -> dict:
    return {name: str(form.get(name, "")).strip()[:200] for name in names}


def resident_form(request: web.Request, handler, values: dict, error: str | None = None,
                  status: int = 200, **extra) -> web.Response:
    """The handler's form; `error` is a msgid (with `error_values` in `extra` for %-parameters)."""
    gettext = request[GETTEXT]
    shown = gettext(error) % extra.pop("error_values", {}) if error else None
    return render(request, handler.template, {"handler": handler, "values": values, "error": shown, **extra},
                  status=status)


def locked_message(request: web.Request, seconds: int) -> str:
    hours = max(1, -(-seconds // 3600))
    return request[GETTEXT](LOCKED) % {"hours": hours}


def resident(request: web.Request):
    return require_user(request)
