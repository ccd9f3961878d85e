"""Which remote servers this node federates with: blocks (defederation) and, in allowlist mode,
the approved partners. Decisions take effect at once in this process and within seconds in the
node's other processes (node.activitypub.policy)."""
from __future__ import annotations

import re

from aiohttp import web
from sqlalchemy import select

from node.activitypub.inbox import POLICIES
from node.activitypub.models import INSTANCE_POLICIES, InstancePolicy
from node.activitypub.policy import normalise_host
from node.admin.forms import done_message, redirect
from node.appkeys import DB, GETTEXT, SETTINGS
from node.i18n import N_
from node.web.context import require_admin
from node.web.render import render

HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")
REASON_MAX = 500


def read_rule(form, own_host: str) -> tuple[dict, dict]:
    values = {key: str(form.get(key, "")).strip() for key in ("host", "policy", "reason")}
    host = normalise_host(values["host"])
    errors = {}
    if not HOST_RE.match(host) or len(host) > 255:
        errors["host"] = N_("Enter a server name like town.example.org (a port is allowed: host:8080).")
    elif host == own_host:
        errors["host"] = N_("This is this node's own address.")
    if values["policy"] not in INSTANCE_POLICIES:
        errors["policy"] = N_("Choose to block this server or to allow it.")
    if len(values["reason"]) > REASON_MAX:
        errors["reason"] = N_("Use at most 500 characters for the reason.")
    values["host"] = host
    return values, errors


async def instances(request: web.Request) -> web.Response:
    require_admin(request)
    policies = request.app[POLICIES]
    values, errors = {"host": "", "policy": "block", "reason": ""}, {}
    if request.method == "POST":
        form = await request.post()
        own = normalise_host(request.app[SETTINGS].base_url)
        values, errors = read_rule(form, own)
        if not errors:
            await policies.set(values["host"], values["policy"], values["reason"])
            raise redirect(request, "admin_instances", "saved")
    async with request.app[DB]() as db:
        rules = (await db.scalars(select(InstancePolicy).order_by(InstancePolicy.policy, InstancePolicy.host))).all()
    translate = request[GETTEXT]
    return render(request, "admin/instances.html", {
        "rules": rules, "mode": policies.mode, "values": values,
        "errors": {field: translate(message) for field, message in errors.items()},
        "done": done_message(request)}, status=422 if errors else 200)


async def remove_rule(request: web.Request) -> web.Response:
    require_admin(request)
    form = await request.post()
    await request.app[POLICIES].remove(str(form.get("host", "")))
    raise redirect(request, "admin_instances", "deleted")
