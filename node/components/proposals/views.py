"""Public pages: the list (the component's page), a proposal, and its version history."""
from __future__ import annotations

from dataclasses import replace

from aiohttp import web
from sqlalchemy import select

from node.accounts.models import User
from node.activitypub.negotiation import wants_activity_json
from node.activitypub.objects import object_response
from node.appkeys import DB, SETTINGS, USER
from node.components.comments import thread_context
from node.components.proposals.amendments import amendments_of
from node.components.proposals.comments import comment_target
from node.components.proposals.common import (
    done_message, id_param, is_admin, load_proposal, load_proposal_page,
)
from node.components.proposals.listing import (
    PER_PAGE, SEED_COOKIE, allowed_orders, categories_in_use, list_page, parse_list_query,
)
from node.components.proposals.service import can_edit, edit_deadline
from node.components.proposals.settings import counts_visible, settings_of, supports_open
from node.activitypub.outbox import host_of
from node.cohosting.counts import informal_counts, supports_by_origin
from node.cohosting.models import RemoteParticipant
from node.components.proposals.versions import diff_html, shell_command, versions_of
from node.permissions.web import notice, public_requirements, request_decisions
from node.web.render import render

# Extra sections under a proposal, after the comments (for later capabilities):
# `async (request, db, page) -> Markup | None` (page: common.ProposalPage), rendered in order,
# given the page's database session.
PROPOSAL_SECTIONS: list = []


async def view(request: web.Request, space, component) -> web.Response:
    user = request.get(USER)
    settings = settings_of(component)
    async with request.app[DB]() as db:
        # The active phase decides whether counts are shown, hence whether the list may be sorted
        # by them; it is read with the page, which is read again, by date, in the rare case the
        # visitor asked for an order by supports they may not see (it would leak them).
        lq = parse_list_query(request.query, request.cookies, settings, True, user is not None)
        rows, total, phase_id = await list_page(db, space.id, component.id, lq, user.id if user else None)
        shown = counts_visible(settings, phase_id, user)
        if lq.order not in allowed_orders(shown):
            lq = replace(lq, order="recent")  # as parse_list_query does with an order not allowed
            rows, total, phase_id = await list_page(db, space.id, component.id, lq, user.id if user else None)
        supported = {r.id for r in rows if r.supported} if user else set()
        categories = settings["categories"] or await categories_in_use(db, component.id)
        decisions = await request_decisions(request, db, component, "create", "support")
    pages = max(1, -(-total // PER_PAGE))
    response = render(request, "components/proposals/index.html", {
        "space": space, "component": component, "settings": settings, "rows": rows, "total": total,
        "lq": lq, "pages": pages, "counts_shown": shown, "supports_open": supports_open(settings, phase_id),
        "supported": supported, "categories": categories, "orders": allowed_orders(shown),
        "done": done_message(request), "requirements": public_requirements(request, component),
        **_refusals(request, decisions, user)})
    if request.cookies.get(SEED_COOKIE) != lq.seed and lq.order == "random":
        response.set_cookie(SEED_COOKIE, lq.seed, httponly=True, samesite="Lax", path="/",
                            secure=request.app[SETTINGS].secure_cookies)
    return response


async def show(request: web.Request) -> web.Response:
    if wants_activity_json(request):  # the proposal's page is also its federated id
        return await object_response(request, "proposal.created", id_param(request, "proposal_id"))
    user = request.get(USER)
    async with request.app[DB]() as db:
        page = await load_proposal_page(request, db, user)
        space, component, proposal, author, version, group, phase_id, mine, can_answer, follow = page[:10]
        settings = settings_of(component)
        amendments = await amendments_of(db, proposal.id) if page.has_amendments else []
        comments = await thread_context(request, db, "proposal", proposal.id,
                                        comment_target(proposal, component, space))
        decisions = await request_decisions(request, db, component, "support", "amend")
        counts_shown = counts_visible(settings, phase_id, user)
        # Per node only in co-hosted spaces; asked only when partner nodes' residents took part.
        origins = None
        if counts_shown and space.federation_policy != "local" and proposal.support_count:
            origins = (await supports_by_origin(db, [proposal.id], host_of(request.app[SETTINGS].base_url))
                       ).get(proposal.id) if page.remote_supports else \
                {host_of(request.app[SETTINGS].base_url): proposal.support_count}
        informal = (await informal_counts(db, [proposal.id])).get(proposal.id) \
            if counts_shown and space.federation_policy == "open" else None
        # Written by a partner node's resident from their node (node.cohosting.proposals_host).
        remote_author = await db.get(RemoteParticipant, proposal.remote_participant_id) \
            if proposal.remote_participant_id else None
        # In the page's session: one session per request, however many sections there are.
        sections = [await section(request, db, page) for section in PROPOSAL_SECTIONS]
    return render(request, "components/proposals/show.html", {
        "origins": origins, "informal": informal, "remote_author": remote_author,
        "space": space, "component": component, "proposal": proposal, "author": author, "group": group,
        "settings": settings, "current": version, "recompute": shell_command(version.canonical_json),
        "amendments": amendments, "my_support": mine,
        # Only shown against a maximum.
        "given": page.given if settings["max_supports_per_user"] else 0,
        "counts_shown": counts_shown,
        "supports_open": supports_open(settings, phase_id),
        "can_edit": can_edit(proposal, settings, user), "edit_deadline": edit_deadline(proposal, settings),
        "is_admin": is_admin(request), "can_answer": can_answer, "sections": [s for s in sections if s],
        "done": done_message(request), "errors": {}, "values": {}, **comments,
        "follow": follow, **_refusals(request, decisions, user)})


def _refusals(request: web.Request, decisions: dict, user) -> dict:
    """`refused_<action>`: what the viewer lacks for each action (None when allowed). Anonymous
    visitors keep the pages' own "log in" links and buttons, which lead to the login page."""
    return {f"refused_{action}": notice(request, decision) if user is not None else None
            for action, decision in decisions.items()}


async def history(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        space, component, proposal, author = await load_proposal(request, db)
        versions = await versions_of(db, proposal.id)
        amenders = {a.id: (a, writer) for a, writer in await amendments_of(db, proposal.id)}
        publishers = {u.id: u for u in await db.scalars(select(User).where(
            User.id.in_({v.author_id for v in versions if v.author_id})))}
    entries = []
    previous = None
    for version in versions:
        entries.append({
            "version": version, "publisher": publishers.get(version.author_id),
            "amender": amenders.get(version.amendment_id, (None, None))[1],
            "title_diff": diff_html(previous.title, version.title) if previous else None,
            "body_diff": diff_html(previous.body, version.body) if previous else None,
            "recompute": shell_command(version.canonical_json)})
        previous = version
    return render(request, "components/proposals/versions.html", {
        "space": space, "component": component, "proposal": proposal, "author": author,
        "entries": list(reversed(entries))})
