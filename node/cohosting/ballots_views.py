"""Home side pages of remote ballots: the budgets of a co-hosted space, read from its host, with a
ballot form for each budget open to votes and the host's answer to the resident's ballot
(node.cohosting.ballots_home)."""
from __future__ import annotations

import shlex

from aiohttp import web

from node.activitypub.follow_models import RemoteSpace
from node.appkeys import DB, GETTEXT, LOCALE, NODE_INFO, USER
from node.cohosting.ballots_home import ParticipationError, host_budgets, postal_codes_of, send_ballot, sent_ballots
from node.cohosting.home import holding_code
from node.cohosting.reasons import reason_text
from node.cohosting.service import active_partnership, conditions_labels, required_authorisations
from node.i18n import N_, pick
from node.web.context import require_user
from node.web.errors import user_error
from node.web.render import render

KINDS = {"budget_cap": N_("Choose the projects you want, within the budget's total."),
         "project_count": N_("Choose the projects you want."),
         "cumulative": N_("Share your points among the projects you want."),
         "choose_one": N_("Choose one project.")}


def _id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise user_error(404, "Nothing from another node has this address here.")
    return int(raw)


def answer_text(gettext, row, host: str) -> str:
    if row.answer == "pending":
        return gettext(N_("Your ballot was sent to %(host)s; its answer will show here.")) % {"host": host}
    if row.answer == "accepted":
        return gettext(N_("Your ballot is counted by %(host)s.")) % {"host": host}
    return gettext(N_("%(host)s did not count your ballot: %(reason)s")) % {
        "host": host, "reason": reason_text(gettext, row.reason, row.reason_text)}


def _fail(request: web.Request, exc: ParticipationError) -> web.HTTPException:
    message = request[GETTEXT](exc.message) % exc.values if exc.values else request[GETTEXT](exc.message)
    return user_error(exc.status, message)


async def _page(request: web.Request, space_id: int, sent=None, status: int = 200) -> web.Response:
    gettext, user = request[GETTEXT], request.get(USER)
    async with request.app[DB]() as db:
        space = await db.get(RemoteSpace, space_id)
        if space is None:
            raise user_error(404, "Nothing from another node has this address here.")
        partnership = await active_partnership(db, space.uri)
    if partnership is None:
        raise user_error(403, gettext(N_("This node is not a partner of this consultation: you can read it here, "
                                         "but vote only on its own node.")))
    try:
        budgets = await host_budgets(request.app, space)
    except ParticipationError as exc:
        raise _fail(request, exc) from None
    mine, missing, held = {}, False, {}
    if user is not None:
        from node.verification.service import active_authorisations

        required = required_authorisations(partnership.conditions)
        async with request.app[DB]() as db:
            mine = await sent_ballots(db, user.id, [b["id"] for b in budgets])
            held = await active_authorisations(db, user.id)
        missing = bool(required) and not any(name in held for name in required)
    locale = request.get(LOCALE, "en")
    default = request.app[NODE_INFO].get("default_locale", "en")

    def title(field) -> str:
        return pick(field, locale, default) if isinstance(field, dict) else str(field or "")

    shown = []
    for budget in budgets:
        row = mine.get(budget["id"])
        codes = postal_codes_of(budget)
        # Said before the resident fills the form, as node.cohosting.home._attestation refuses.
        resident = not codes or bool(holding_code(held, codes))
        shown.append({**budget, "postal_codes": codes, "resident": resident, "title_text": title(budget.get("title")),
                      "description_text": title(budget.get("description")),
                      "kind_text": gettext(KINDS.get(budget.get("ballotKind"), KINDS["project_count"])),
                      "projects": [{**p, "title_text": title(p.get("title"))} for p in budget["projects"]
                                   if isinstance(p, dict) and p.get("feasibility") != "unfeasible"],
                      "answer": row.answer if row else None,
                      "answer_text": answer_text(gettext, row, space.host) if row else None,
                      "receipt": row.activity.get("receipt") if row else None,
                      "found_at": row.result_uri if row else None,
                      "may_vote": user is not None and budget.get("votingOpen") and resident
                      and not (budget.get("restricted") and not codes)
                      and (row is None or row.answer == "rejected")})
    return render(request, "cohosting/budgets.html", {
        "space": space, "budgets": shown, "conditions": conditions_labels(partnership.conditions), "sent": sent,
        "missing": missing},
        status=status)


async def budgets(request: web.Request) -> web.Response:
    """GET: the co-hosted space's budgets, as its host publishes them now."""
    return await _page(request, _id(request, "space_id"))


async def vote(request: web.Request) -> web.Response:
    """POST project=<n>… (or points_<n>=…): the resident's ballot, sent to the host. The answering
    page shows the salt of the receipt, this once: it is kept nowhere."""
    user = require_user(request)
    space_id, number = _id(request, "space_id"), _id(request, "number")
    form = await request.post()  # the CSRF middleware has checked the token
    try:
        sent = await send_ballot(request.app, user, space_id, number, form)
    except ParticipationError as exc:
        raise _fail(request, exc) from None
    command = f"printf '%s' {shlex.quote(sent.canonical)} | sha256sum"
    return await _page(request, space_id, sent={"receipt": sent.receipt, "salt": sent.salt,
                                                "canonical": sent.canonical, "command": command,
                                                "budget": sent.row.object_uri})
