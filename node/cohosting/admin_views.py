"""Admin pages of partnerships (routes in node.cohosting.routes).

/admin/spaces/<id>/partners                 host side: a space's partner nodes, the invite form
/admin/spaces/<id>/partners/<p>/end         host side: end a partnership, withdraw an invitation
/admin/partnerships                         partner side: invitations received, partnerships
/admin/partnerships/<p>/accept|decline|end  partner side: answer, or leave
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.admin.forms import int_param
from node.appkeys import DB, GETTEXT
from node.cohosting import partners
from node.cohosting.models import Partnership, SpacePartner
from node.cohosting.service import conditions_labels
from node.i18n import N_
from node.spaces.models import Space
from node.verification.service import HANDLER_LABELS
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

DONE = {
    "invited": N_("The invitation was sent. The node appears as a partner once its administrators accept."),
    "ended": N_("The partnership has ended. What its residents did before stays counted."),
    "accepted": N_("You accepted: this node's residents can now take part in that space from here."),
    "declined": N_("You declined the invitation."),
    "left": N_("This node left the partnership. What its residents did before stays counted."),
}
ACTIONS = {"accept": (partners.accept, "accepted"), "decline": (partners.decline, "declined"),
           "end": (partners.end_as_partner, "left")}


def _done(request: web.Request) -> str | None:
    message = DONE.get(request.query.get("done", ""))
    return request[GETTEXT](message) if message else None


def _message(request: web.Request, exc: partners.PartnerError) -> str:
    text = request[GETTEXT](exc.message)
    return text % exc.values if exc.values else text


def _redirect(request: web.Request, route: str, done: str, **parts) -> web.HTTPSeeOther:
    url = request.app.router[route].url_for(**{k: str(v) for k, v in parts.items()})
    return web.HTTPSeeOther(url.with_query(done=done))


async def space_partners(request: web.Request) -> web.Response:
    admin = require_admin(request)
    space_id = int_param(request, "space_id")
    values: dict = {"address": "", "authorisations": []}
    error, status = None, 200
    if request.method == "POST":
        form = await request.post()
        values = {"address": str(form.get("address", ""))[:300],
                  "authorisations": [str(v) for v in form.getall("authorisations", [])][:20]}
        try:
            await partners.invite(request.app, admin, space_id, values["address"], values["authorisations"])
        except partners.PartnerError as exc:
            if exc.status == 404:
                raise user_error(404, "No space has this address.") from None
            error, status = _message(request, exc), exc.status
        else:
            raise _redirect(request, "admin_space_partners", "invited", space_id=space_id)
    async with request.app[DB]() as db:
        space = await db.get(Space, space_id)
        if space is None:
            raise user_error(404, "No space has this address.")
        rows = (await db.scalars(select(SpacePartner).where(SpacePartner.space_id == space_id)
                                 .order_by(SpacePartner.invited_at.desc(), SpacePartner.id.desc()))).all()
    return render(request, "cohosting/space_partners.html", {
        "space": space, "partners": rows, "handlers": HANDLER_LABELS, "values": values, "error": error,
        "labels": conditions_labels, "done": None if error else _done(request)}, status=status)


async def space_partner_end(request: web.Request) -> web.Response:
    admin = require_admin(request)
    space_id, partner_id = int_param(request, "space_id"), int_param(request, "partner_id")
    await request.post()  # the CSRF middleware has checked the token
    try:
        await partners.end_as_host(request.app, admin, space_id, partner_id)
    except partners.PartnerError as exc:
        if exc.status == 404:
            raise user_error(404, "This space has no such partner.") from None
        raise user_error(409, "This partnership has already ended or was declined.") from None
    raise _redirect(request, "admin_space_partners", "ended", space_id=space_id)


async def _partnerships_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    async with request.app[DB]() as db:
        rows = (await db.scalars(select(Partnership)
                                 .order_by(Partnership.invited_at.desc(), Partnership.id.desc()))).all()
    return render(request, "cohosting/partnerships.html", {
        "partnerships": rows, "labels": conditions_labels, "error": error,
        "done": None if error else _done(request)}, status=status)


async def partnerships(request: web.Request) -> web.Response:
    require_admin(request)
    return await _partnerships_page(request)


async def partnership_action(request: web.Request) -> web.Response:
    admin = require_admin(request)
    partnership_id = int_param(request, "partnership_id")
    await request.post()  # the CSRF middleware has checked the token
    action, done = ACTIONS[request.match_info["action"]]
    try:
        await action(request.app, admin, partnership_id)
    except partners.PartnerError as exc:
        if exc.status == 404:
            raise user_error(404, "No invitation has this address.") from None
        return await _partnerships_page(request, _message(request, exc), exc.status)
    raise _redirect(request, "admin_partnerships", done)
