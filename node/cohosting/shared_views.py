"""Pages of shared proposals (node.cohosting.shared): on a proposal's page, where it was proposed
and how it fares there (and, on a copy, where it comes from); the form to propose it to a space
of another node; the administrators' page of offers received by a space."""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup
from sqlalchemy import select

from node.appkeys import DB, GETTEXT, USER
from node.cohosting import shared
from node.cohosting.models import ProposalOffer
from node.i18n import N_
from node.spaces.models import Component, Space
from node.web.context import require_admin, require_user
from node.web.errors import user_error
from node.web.render import base_context, render
from node.admin.forms import int_param

DONE = {"shared": N_("The proposal was sent to that space; its administrators will accept or refuse it."),
        "accepted": N_("The proposal was accepted into this space, marked with its origin."),
        "refused": N_("The offer was refused; its node was told.")}


async def proposal_section(request: web.Request, db, page) -> Markup | None:
    """Under a proposal: its origin (a copy), or the spaces of other nodes it was proposed to."""
    user, space, proposal = request.get(USER), page.space, page.proposal
    can_share = (user is not None and not proposal.origin_uri and proposal.state not in ("withdrawn", "rejected")
                 and (user.is_admin or user.id == proposal.author_id))
    if not (page.shared or proposal.origin_uri or can_share):
        return None  # the page's query said there is nothing to list
    shares = await shared.shares_of(db, proposal.id) if page.shared else []
    shared_now = request.query.get("done") == "shared"
    html = aiohttp_jinja2.render_string("cohosting/_proposal_shares.html", request, {
        **base_context(request), "space": space, "proposal": proposal, "shares": shares, "can_share": can_share,
        "done": request[GETTEXT](DONE["shared"]) if shared_now else None})
    return Markup(html)


async def share(request: web.Request) -> web.Response:
    user = require_user(request)
    proposal_id = int_param(request, "proposal_id")
    form = await request.post()  # the CSRF middleware has checked the token
    address = str(form.get("address", "")).strip()[:500]
    slug = request.match_info["slug"]
    async with request.app[DB]() as db:
        found = await db.scalar(select(Space.id).where(Space.slug == slug))
    if found is None:
        raise user_error(404, "No published space has this address.")
    try:
        await shared.offer(request.app, user, proposal_id, address)
    except shared.ShareError as exc:
        message = request[GETTEXT](exc.message) % exc.values if exc.values else exc.message
        raise user_error(exc.status, message) from None
    raise web.HTTPSeeOther(f"/spaces/{slug}/proposals/{proposal_id}?done=shared#shares")


async def offers(request: web.Request) -> web.Response:
    """GET: the offers a space received; POST: accept (into a component) or refuse one."""
    admin = require_admin(request)
    space_id = int_param(request, "space_id")
    error, status = None, 200
    if request.method == "POST":
        form = await request.post()
        action = str(form.get("action", ""))
        raw_offer, raw_component = str(form.get("offer_id", "")), str(form.get("component_id", ""))
        if action not in ("accept", "refuse") or not raw_offer.isdigit():
            raise user_error(400, "Choose to accept or to refuse an offer.")
        async with request.app[DB]() as db:
            row = await db.get(ProposalOffer, int(raw_offer))
        if row is None or row.space_id != space_id:
            raise user_error(404, "No offer has this address.")
        try:
            await shared.answer_offer(request.app, admin, row.id, action == "accept",
                                      int(raw_component) if raw_component.isdigit() else None)
        except shared.ShareError as exc:
            error, status = request[GETTEXT](exc.message), exc.status
        else:
            done = "accepted" if action == "accept" else "refused"
            raise web.HTTPSeeOther(f"/admin/spaces/{space_id}/offers?done={done}")
    async with request.app[DB]() as db:
        space = await db.get(Space, space_id)
        if space is None:
            raise user_error(404, "No space has this address.")
        rows = (await db.scalars(select(ProposalOffer).where(ProposalOffer.space_id == space_id)
                                 .order_by(ProposalOffer.received_at.desc(), ProposalOffer.id.desc())
                                 .limit(200))).all()
        components = (await db.scalars(select(Component).where(Component.space_id == space_id,
                                                               Component.kind == "proposals")
                                       .order_by(Component.position, Component.id))).all()
    done = DONE.get(request.query.get("done", "")) if not error else None
    return render(request, "cohosting/offers.html", {
        "space": space, "offers": [(row, *shared.offered_text(row.article)) for row in rows],
        "components": components, "error": error, "done": request[GETTEXT](done) if done else None},
        status=status)
