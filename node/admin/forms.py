"""Reading admin forms and showing their errors: translatable fields arrive as `field.<lang>`."""
from __future__ import annotations

from aiohttp import web

from node.appkeys import GETTEXT
from node.config import LOCALES
from node.i18n import N_

# Short codes in the redirect after a successful POST (?done=...), so that no session state is
# needed to say what happened.
DONE_MESSAGES = {
    "saved": N_("Your changes were saved."),
    "created": N_("Created."),
    "deleted": N_("Deleted."),
    "published": N_("Published: everyone can see it now."),
    "unpublished": N_("Unpublished: only administrators can see it now."),
    "activated": N_("This phase is now the active one."),
    "moved": N_("The order was changed."),
    "role": N_("The role was changed."),
    "role_granted": N_("The member now has this role in this space."),
    "role_removed": N_("The role was removed."),
}


def translated(form, field: str) -> dict:
    return {lang: str(form.get(f"{field}.{lang}", "")) for lang in LOCALES}


def flat(translated_values: dict, field: str) -> dict:
    """{"fr": "x"} -> {"title.fr": "x"}: how the form names its inputs."""
    return {f"{field}.{lang}": text for lang, text in (translated_values or {}).items()}


def form_values(form) -> dict:
    """What the person typed, to put back into the re-rendered form."""
    return {key: value for key, value in form.items() if isinstance(value, str) and key != "_csrf"}


def translate_errors(request: web.Request, errors: dict) -> dict[str, str]:
    gettext = request.get(GETTEXT) or (lambda s: s)
    shown = {}
    for field, message in errors.items():
        if isinstance(message, tuple):
            msgid, values = message
            shown[field] = gettext(msgid) % values
        else:
            shown[field] = gettext(message)
    return shown


def done_message(request: web.Request) -> str | None:
    message = DONE_MESSAGES.get(request.query.get("done", ""))
    return request[GETTEXT](message) if message else None


def int_param(request: web.Request, name: str) -> int:
    from node.web.errors import user_error

    try:
        return int(request.match_info[name])
    except ValueError:
        raise user_error(404, "This page does not exist.") from None


def redirect(request: web.Request, route: str, done: str | None = None, **parts) -> web.HTTPSeeOther:
    url = request.app.router[route].url_for(**{k: str(v) for k, v in parts.items()})
    return web.HTTPSeeOther(url.with_query(done=done) if done else url)
