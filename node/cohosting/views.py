"""Pages of remote participation on the home node: the support button, the comment form and
their answers on a mirrored proposal of a co-hosted space (/following/<space>/items/<item>)."""
from __future__ import annotations

from aiohttp import web

from node.appkeys import GETTEXT, USER
from node.cohosting.home import ParticipationError, latest, participate, supports_now
from node.cohosting.reasons import reason_text
from node.cohosting.service import active_partnership, required_authorisations
from node.components.comments.service import BODY_LIMIT
from node.i18n import N_
from node.web.context import require_user
from node.web.errors import user_error

WAITING = {"support": N_("Your support was sent to %(host)s; its answer will show here."),
           "withdrawal": N_("Your withdrawal was sent to %(host)s; its answer will show here."),
           "comment": N_("Your comment was sent to %(host)s; its answer will show here.")}
ACCEPTED = {"support": N_("Your support is counted by %(host)s."),
            "withdrawal": N_("You no longer support this proposal."),
            "comment": N_("Your comment is published by %(host)s.")}
REFUSED = {"support": N_("%(host)s did not count your support: %(reason)s"),
           "withdrawal": N_("%(host)s kept your support: %(reason)s"),
           "comment": N_("%(host)s did not publish your comment: %(reason)s")}


def answer_text(gettext, row, host: str) -> str:
    values = {"host": host}
    if row.answer == "pending":
        return gettext(WAITING[row.kind]) % values
    if row.answer == "accepted":
        return gettext(ACCEPTED[row.kind]) % values
    return gettext(REFUSED[row.kind]) % {**values, "reason": reason_text(gettext, row.reason, row.reason_text)}


async def _my_comments(gettext, db, user, space, item) -> list[dict]:
    """The resident's comments sent from here, newest first: an excerpt of the text last
    published (their latest accepted edit's), what became of it (the host's answer, or of their
    latest edit or deletion), and the comment in the mirrored thread once the host published it."""
    from node.cohosting.comments_home import mirrored_ids, sent_comments
    from node.cohosting.edits_home import change_text, changes_of, current_object

    rows = await sent_comments(db, user.id, item.uri)
    published = [r.result_uri for r in rows if r.result_uri]
    mirrored = await mirrored_ids(db, published)
    changes = await changes_of(db, user.id, published)
    shown = []
    for row in rows:
        change = changes.get(row.result_uri) if row.result_uri else None
        note = current_object(row, change)
        text = str(note.get("content") or "")
        status = change_text(gettext, change, space.host) if change is not None else \
            answer_text(gettext, row, space.host)
        shown.append({"answer": change.answer if change is not None else row.answer, "text": status,
                      "excerpt": text if len(text) <= 140 else text[:139] + "…",
                      "mirrored": mirrored.get(row.result_uri), "created_at": row.created_at})
    return shown


async def participation_context(request: web.Request, db, space, item) -> dict:
    """What the mirrored proposal's page shows about taking part from here."""
    from node.verification.service import HANDLER_LABELS, active_authorisations

    if item.kind != "proposal":
        return {}
    partnership = await active_partnership(db, space.uri)
    informal = partnership is None and space.federation_policy == "open"
    if partnership is None and not informal:
        return {"cohosted": False}
    gettext, user = request[GETTEXT], request.get(USER)
    required = required_authorisations(partnership.conditions) if partnership else []
    context = {"cohosted": True, "informal": informal,
               "required": [gettext(HANDLER_LABELS.get(n, n)) for n in required],
               "participation": None, "supports_now": False, "missing": False,
               "may_comment": False, "my_comments": [], "my_items": {}, "comment_body_limit": BODY_LIMIT}
    if user is None:
        return context
    row = await latest(db, user.id, item.uri)
    if required:
        held = await active_authorisations(db, user.id)
        context["missing"] = not any(name in held for name in required)
    if row is not None:
        context["participation"] = {"answer": row.answer, "kind": row.kind,
                                    "text": answer_text(gettext, row, space.host)}
    context["supports_now"] = supports_now(row)
    context["my_comments"] = await _my_comments(gettext, db, user, space, item)
    from node.cohosting.edits_home import mine

    context["my_items"] = await mine(gettext, db, user.id, space)  # what they may edit or delete
    context["may_comment"] = not context["missing"]
    return context


def _id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise user_error(404, "Nothing from another node has this address here.")
    return int(raw)


async def take_part(request: web.Request) -> web.Response:
    """POST action=support|withdraw on a mirrored proposal."""
    user = require_user(request)
    space_id, item_id = _id(request, "space_id"), _id(request, "item_id")
    form = await request.post()  # the CSRF middleware has checked the token
    action = str(form.get("action", ""))
    if action not in ("support", "withdraw"):
        raise user_error(400, "Choose to support the proposal or to withdraw your support.")
    try:
        await participate(request.app, user, space_id, item_id, "support" if action == "support" else "withdrawal")
    except ParticipationError as exc:
        # Formatted here: the error page translates a msgid, and leaves a finished sentence as is.
        message = request[GETTEXT](exc.message) % exc.values if exc.values else exc.message
        raise user_error(exc.status, message) from None
    location = request.app.router["remote_item"].url_for(space_id=str(space_id), item_id=str(item_id))
    raise web.HTTPSeeOther(f"{location}#take-part")


async def comment(request: web.Request) -> web.Response:
    """POST body, alignment, parent (a mirrored comment of the proposal's thread): the resident's
    comment, sent to the host from here."""
    from node.cohosting.comments_home import send_comment

    user = require_user(request)
    space_id, item_id = _id(request, "space_id"), _id(request, "item_id")
    form = await request.post()  # the CSRF middleware has checked the token
    raw_parent = str(form.get("parent", "") or "")
    if raw_parent and (not raw_parent.isdigit() or not 0 < int(raw_parent) < 2**31):
        raise user_error(404, "The comment you replied to is not one of this proposal's.")
    try:
        await send_comment(request.app, user, space_id, item_id, body=form.get("body"),
                           alignment=str(form.get("alignment", "") or "") or None,
                           parent_id=int(raw_parent) if raw_parent else None)
    except ParticipationError as exc:
        message = request[GETTEXT](exc.message) % exc.values if exc.values else exc.message
        raise user_error(exc.status, message) from None
    location = request.app.router["remote_item"].url_for(space_id=str(space_id), item_id=str(item_id))
    raise web.HTTPSeeOther(f"{location}#my-comments")
