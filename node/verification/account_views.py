"""The resident's verification page: what each handler offers and the account's authorisations."""
from __future__ import annotations

from aiohttp import web

from node.appkeys import DB, GETTEXT
from node.db.base import utcnow
from node.i18n import N_
from node.verification.forms import resident
from node.verification.grants import STATUS_LABELS, of_user, status
from node.verification.handlers import handlers
from node.web.errors import user_error
from node.web.render import render

DONE = {"census": N_("You are verified: the census has your details."),
        "email_domain": N_("Your address is confirmed: you are verified.")}


async def account_page(request: web.Request) -> web.Response:
    user = resident(request)
    now = utcnow()
    found = handlers()
    async with request.app[DB]() as db:
        rows = await of_user(db, user.id)
        offered = [h for h in found.values() if h.view is None or await h.available(db)]
    active = {row.handler for row in rows if status(row, now) == "active"}
    done = DONE.get(request.query.get("done", ""))
    return render(request, "verification/account.html", {
        "handlers": found, "offered": offered, "active": active,
        "rows": [(row, status(row, now)) for row in rows], "status_labels": STATUS_LABELS,
        "done": request[GETTEXT](done) if done else None})


async def handler_page(request: web.Request) -> web.Response:
    handler = handlers().get(request.match_info["handler"])
    if handler is None or handler.view is None:
        raise user_error(404, "This page does not exist.")
    resident(request)
    async with request.app[DB]() as db:
        if not await handler.available(db):
            raise user_error(404, "This way of verifying is not available on this node yet.")
    return await handler.view(request)
