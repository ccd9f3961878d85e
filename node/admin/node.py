"""Node settings: name, description per language, default language, registration, contact."""
from __future__ import annotations

import re

from aiohttp import web

from node.admin.forms import done_message, flat, form_values, redirect, translate_errors, translated
from node.appkeys import DB, NODE_INFO, USER
from node.moderation.log import log_action
from node.config import LOCALES
from node.i18n import N_
from node.site import refresh_node_info, save_node_info
from node.spaces.service import clean_translated, too_long
from node.web.context import require_admin
from node.web.render import render

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 1000


def read_node_form(form) -> tuple[dict, dict]:
    errors: dict = {}
    name = str(form.get("node_name", "")).strip()
    if not name:
        errors["node_name"] = N_("Enter the node's name.")
    elif len(name) > NAME_LIMIT:
        errors["node_name"] = too_long(NAME_LIMIT)
    description = clean_translated(translated(form, "description"))
    for lang, text in description.items():
        if len(text) > DESCRIPTION_LIMIT:
            errors[f"description.{lang}"] = too_long(DESCRIPTION_LIMIT)
    default_locale = form.get("default_locale", "")
    if default_locale not in LOCALES:
        errors["default_locale"] = N_("Choose one of the languages offered.")
    contact = str(form.get("contact_email", "")).strip()
    if contact and (len(contact) > 254 or not EMAIL_RE.match(contact)):
        errors["contact_email"] = N_("Enter an email address like name@example.org, or leave it empty.")
    changes = {"node_name": name, "description": description, "default_locale": default_locale,
               "registration_open": form.get("registration_open") == "1", "contact_email": contact}
    return changes, errors


async def node_settings(request: web.Request) -> web.Response:
    require_admin(request)
    info = request.app[NODE_INFO]
    errors: dict = {}
    if request.method == "POST":
        form = await request.post()
        changes, errors = read_node_form(form)
        if not errors:
            async with request.app[DB].begin() as db:
                await save_node_info(db, changes)
                await log_action(db, request[USER], "node.settings", data={"keys": sorted(changes)})
            await refresh_node_info(request.app, force=True)
            raise redirect(request, "admin_node", "saved")
        values = form_values(form)
        values["registration_open"] = form.get("registration_open") == "1"
    else:
        values = {"node_name": info.get("node_name", ""), "default_locale": info.get("default_locale"),
                  "registration_open": info.get("registration_open"),
                  "contact_email": info.get("contact_email", ""), **flat(info.get("description"), "description")}
    return render(request, "admin/node.html",
                  {"values": values, "errors": translate_errors(request, errors), "done": done_message(request)},
                  status=422 if errors else 200)
