"""Forms and buttons: publish, edit, withdraw, support, answer, amend. Every refusal answers with
its status and a message saying why; nothing is written when a rule says no."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.cohosting.records import node_signing_key, record_local
from node.cohosting.shared import report_to_origin
from node.admin.forms import translate_errors
from node.appkeys import DB
from node.components.proposals import amendments as amend_rules
from node.components.proposals import service, supports
from node.components.proposals.common import (
    active_phase_id, base_url, id_param, load_component, load_proposal, message, proposal_url,
)
from node.components.proposals.models import Amendment, Proposal
from node.components.proposals.service import ProposalError
from node.components.proposals.settings import settings_of
from node.groups.acting import FIELD as GROUP_FIELD
from node.groups.acting import publishable_groups
from node.permissions.web import refusal, request_decision
from node.spaces.views import visible_space
from node.web.context import require_user
from node.web.errors import user_error
from node.web.render import render

FORM = "components/proposals/form.html"


def _fail(request: web.Request, exc: ProposalError) -> web.HTTPException:
    return user_error(exc.status, message(request, exc.message))


def _form_values(form) -> dict:
    return {key: str(form.get(key, "")) for key in ("title", "body", "category", "address")}


async def new_proposal(request: web.Request) -> web.Response:
    user = require_user(request)
    component_id = id_param(request, "component_id")
    async with request.app[DB]() as db:
        space = await visible_space(request, db)
        component = await load_component(request, db, space, component_id)
        decision = await request_decision(request, db, component, "create")
        groups = await publishable_groups(db, user)
    settings = settings_of(component)
    context = {"space": space, "component": component, "settings": settings, "mode": "new",
               "values": {}, "errors": {}, "similar": [], "groups": groups}
    if not settings["creation_enabled"]:
        raise user_error(403, "New proposals are not accepted in this component at the moment.")
    if not decision.allowed:
        return refusal(request, decision, f"/spaces/{space.slug}/c/{component.id}")
    if request.method == "GET":
        return render(request, FORM, context)
    form = await request.post()
    values = _form_values(form)
    values[GROUP_FIELD] = str(form.get(GROUP_FIELD, ""))
    context["values"] = values
    try:
        async with request.app[DB].begin() as db:
            if form.get("confirm") != "1":
                data = service.check_text(values, settings)
                similar = await service.similar_titles(db, component.id, data["title"])
                if similar:
                    # Shown before publishing, like Decidim's "compare" step; one more click publishes.
                    return render(request, FORM, {**context, "similar": similar})
            proposal = await service.create_proposal(db, space=space, component=component, author=user,
                                                     values=values, base_url=base_url(request),
                                                     on_behalf_of=values[GROUP_FIELD])
    except ProposalError as exc:
        if "_" in exc.errors:
            raise _fail(request, exc) from None
        return render(request, FORM, {**context, "errors": translate_errors(request, exc.errors)}, status=422)
    raise web.HTTPSeeOther(proposal_url(request, space, proposal.id, "created"))


async def edit_proposal(request: web.Request) -> web.Response:
    user = require_user(request)
    async with request.app[DB]() as db:
        space, component, proposal, _author = await load_proposal(request, db)
    settings = settings_of(component)
    values = {k: getattr(proposal, k) for k in ("title", "body", "category", "address")}
    context = {"space": space, "component": component, "settings": settings, "mode": "edit",
               "proposal": proposal, "values": values, "errors": {}, "similar": []}
    try:
        if request.method == "GET":
            # The same checks as saving, so nobody fills a form that would be refused.
            if user.id != proposal.author_id:
                raise service.refuse("Only the author of a proposal can edit it.", 403)
            if not service.can_edit(proposal, settings, user):
                raise service.refuse("The time for editing this proposal is over. You can still comment on it.", 403)
            return render(request, FORM, context)
        form = await request.post()
        context["values"] = _form_values(form)
        async with request.app[DB].begin() as db:
            fresh = await db.get(Proposal, proposal.id, with_for_update=True)
            await service.edit_proposal(db, fresh, space=space, component=component, user=user,
                                        values=context["values"], base_url=base_url(request))
    except ProposalError as exc:
        if "_" in exc.errors:
            raise _fail(request, exc) from None
        return render(request, FORM, {**context, "errors": translate_errors(request, exc.errors)}, status=422)
    raise web.HTTPSeeOther(proposal_url(request, space, proposal.id, "edited"))


async def proposal_action(request: web.Request) -> web.Response:
    """withdraw, support, unsupport: one button each."""
    user = require_user(request)
    action = request.match_info["action"]
    async with request.app[DB]() as db:
        space, component, proposal, _author = await load_proposal(request, db)
        phase_id = await active_phase_id(db, space.id)
        # Only adding a support is restricted: withdrawing one already given never is.
        if action == "support":
            decision = await request_decision(request, db, component, "support")
            if not decision.allowed:
                return refusal(request, decision, proposal_url(request, space, proposal.id))
    signing = await node_signing_key(request.app) if action in ("support", "unsupport") else None
    try:
        async with request.app[DB].begin() as db:
            if action in ("support", "unsupport"):
                change = supports.add_support if action == "support" else supports.remove_support
                await change(db, proposal.id, user, phase_id)
                # The signed public record, in the same transaction as the count it explains.
                await record_local(db, base_url=base_url(request), space_id=space.id, space_slug=space.slug,
                                   proposal_id=proposal.id, user=user,
                                   kind="support" if action == "support" else "withdrawal", signing=signing)
                if proposal.origin_uri:  # shared from another node: tell it how it fares here
                    await report_to_origin(db, base_url(request), proposal.id)
            else:
                fresh = await db.get(Proposal, proposal.id, with_for_update=True)
                await service.withdraw_proposal(db, fresh, user=user)
    except ProposalError as exc:
        raise _fail(request, exc) from None
    done = {"support": "supported", "unsupport": "unsupported", "withdraw": "withdrawn"}[action]
    back = proposal_url(request, space, proposal.id, done)
    form = await request.post()
    # The list page's buttons come back to the list (same filters and page), others to the proposal.
    if str(form.get("next", "")).startswith(f"/spaces/{space.slug}/c/"):
        back = str(form["next"])
    raise web.HTTPSeeOther(back)


async def answer(request: web.Request) -> web.Response:
    user = require_user(request)
    async with request.app[DB]() as db:
        space, component, proposal, _author = await load_proposal(request, db)
    # Who may answer (administrators, the space's evaluators) is the service's rule, checked
    # in the writing transaction so that a role removed a moment ago no longer counts.
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            fresh = await db.get(Proposal, proposal.id, with_for_update=True)
            await service.answer_proposal(db, fresh, user=user, state=str(form.get("state", "")),
                                          answer=str(form.get("answer", "")))
            if fresh.origin_uri:
                await report_to_origin(db, base_url(request), fresh.id)
    except ProposalError as exc:
        raise _fail(request, exc) from None
    raise web.HTTPSeeOther(proposal_url(request, space, proposal.id, "answered"))


async def amend(request: web.Request) -> web.Response:
    user = require_user(request)
    async with request.app[DB]() as db:
        space, component, proposal, author = await load_proposal(request, db)
        decision = await request_decision(request, db, component, "amend")
    if not decision.allowed:
        return refusal(request, decision, proposal_url(request, space, proposal.id))
    context = {"space": space, "component": component, "proposal": proposal, "author": author,
               "values": {"title": proposal.title, "body": proposal.body}, "errors": {}}
    try:
        if request.method == "GET":
            if proposal.state == "withdrawn":
                raise service.refuse("A withdrawn proposal cannot be amended.", 409)
            return render(request, "components/proposals/amend.html", context)
        form = await request.post()
        context["values"] = {"title": str(form.get("title", "")), "body": str(form.get("body", ""))}
        async with request.app[DB].begin() as db:
            fresh = await db.get(Proposal, proposal.id, with_for_update=True)
            await amend_rules.propose_amendment(db, fresh, component=component, user=user,
                                                values=context["values"])
    except ProposalError as exc:
        if "_" in exc.errors:
            raise _fail(request, exc) from None
        return render(request, "components/proposals/amend.html",
                      {**context, "errors": translate_errors(request, exc.errors)}, status=422)
    raise web.HTTPSeeOther(proposal_url(request, space, proposal.id, "amended"))


async def decide_amendment(request: web.Request) -> web.Response:
    user = require_user(request)
    amendment_id = id_param(request, "amendment_id")
    accept = request.match_info["decision"] == "accept"
    async with request.app[DB]() as db:
        space, component, proposal, _author = await load_proposal(request, db)
    try:
        async with request.app[DB].begin() as db:
            fresh = await db.get(Proposal, proposal.id, with_for_update=True)
            amendment = await db.scalar(select(Amendment).where(
                Amendment.id == amendment_id, Amendment.proposal_id == proposal.id).with_for_update())
            if amendment is None:
                raise user_error(404, "This amendment does not exist.")
            await amend_rules.decide_amendment(db, amendment, fresh, space=space, user=user, accept=accept,
                                               base_url=base_url(request))
    except ProposalError as exc:
        raise _fail(request, exc) from None
    raise web.HTTPSeeOther(proposal_url(request, space, proposal.id,
                                        "amendment_accepted" if accept else "amendment_rejected"))
