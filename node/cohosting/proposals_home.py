"""Home side of remote proposals: a resident of this node writes a proposal into a space this node
co-hosts, from the space's mirror here (``/following/<space>``, "Propose from this node").

As for a support (node.cohosting.home): this node checks the partnership (or the space's ``open``
policy) and the resident's authorisations, then sends a ``Create{Article}`` signed by the resident
(HTTP signature and FEP-8b32 proof) carrying this node's eligibility attestation. The Article holds
the title (plain text) and the text as typed (``text/markdown``); the host applies its proposals'
own rules (lengths, whether new proposals are accepted) and picks the proposals component: the
mirror does not know the host's components, so none is named (``target``), and the host takes
the first of the space that accepts new proposals. What was sent and the host's answer are kept in
``outgoing_participations`` (kind ``proposal``, ``object_uri`` the space); once published, the
proposal comes back to the mirror like any proposal of the space.
"""
from __future__ import annotations

import uuid

from aiohttp import web
from sqlalchemy import select

from node.activitypub import uris
from node.activitypub.follow_models import RemoteItem, RemoteSpace
from node.appkeys import DB, GETTEXT, SETTINGS, USER
from node.cohosting.home import ParticipationError, _attestation, _context, _signed
from node.cohosting.models import OutgoingParticipation
from node.cohosting.reasons import reason_text
from node.cohosting.service import active_partnership, required_authorisations
from node.db.base import utcnow
from node.i18n import N_
from node.web.context import require_user
from node.web.errors import user_error

# Bounds of what this node sends at all (the proposals' columns); the host applies its own
# limits, which are usually narrower, and answers with the reason when they are not met.
TITLE_LIMIT, BODY_LIMIT = 200, 10_000
SHOWN = 20  # the resident's latest proposals listed on the space's page

WAITING = N_("Your proposal was sent to %(host)s; its answer will show here.")
ACCEPTED = N_("Your proposal is published by %(host)s.")
REFUSED = N_("%(host)s did not publish your proposal: %(reason)s")


def clean_fields(title, body) -> tuple[str, str]:
    """The title on one line and the text, or ParticipationError (422) naming what to fix."""
    title = " ".join(str(title or "").split())
    body = str(body or "").replace("\r\n", "\n").strip()
    if not title or not body:
        raise ParticipationError(N_("Write a title and the text of your proposal before sending it."), 422)
    if len(title) > TITLE_LIMIT:
        raise ParticipationError(N_("The title can have at most %(n)s characters."), 422, n=TITLE_LIMIT)
    if len(body) > BODY_LIMIT:
        raise ParticipationError(N_("The text can have at most %(n)s characters."), 422, n=BODY_LIMIT)
    return title, body


async def send_proposal(app, user, space_id: int, *, title, body) -> OutgoingParticipation:
    """Send the resident's proposal to the mirrored space ``space_id``. Raises
    ParticipationError when this node refuses before sending."""
    from node.activitypub.outbox import enqueue

    title, body = clean_fields(title, body)
    base = app[SETTINGS].base_url
    async with app[DB].begin() as db:
        space = await db.get(RemoteSpace, space_id)
        if space is None:
            raise ParticipationError(N_("Nothing from another node has this address here."), 404)
        partnership = await active_partnership(db, space.uri)
        if partnership is None and space.federation_policy != "open":
            raise ParticipationError(N_("This node is not a partner of this consultation: you can read it here, "
                                        "but take part only on its own node."))
        conditions = partnership.conditions if partnership is not None else {}
        person = uris.user_actor(base, user.username)
        published = utcnow().isoformat().replace("+00:00", "Z")
        article = {"id": f"{person}/proposals/{uuid.uuid4()}", "type": "Article", "attributedTo": person,
                   "name": title, "content": body, "mediaType": "text/markdown", "audience": space.uri,
                   "to": [space.uri], "published": published}
        activity = {"@context": _context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Create",
                    "actor": person, "object": article, "audience": space.uri, "to": [space.uri],
                    "published": published,
                    "attestation": await _attestation(db, base, user, space.uri, conditions)}
        activity = await _signed(db, "user", user.id, person, activity)
        sent = OutgoingParticipation(user_id=user.id, space_uri=space.uri, object_uri=space.uri, kind="proposal",
                                     activity_id=activity["id"], activity=activity)
        db.add(sent)
        await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[space.inbox])
    return sent


def answer_text(gettext, row, host: str) -> str:
    if row.answer == "pending":
        return gettext(WAITING) % {"host": host}
    if row.answer == "accepted":
        return gettext(ACCEPTED) % {"host": host}
    return gettext(REFUSED) % {"host": host, "reason": reason_text(gettext, row.reason, row.reason_text)}


async def my_proposals(gettext, db, user_id: int, space: RemoteSpace) -> list[dict]:
    """The resident's proposals sent to ``space`` from here, newest first: their title, the host's
    answer, and where to read a published one (the mirror once it arrived, else the host)."""
    rows = list(await db.scalars(select(OutgoingParticipation)
                                 .where(OutgoingParticipation.user_id == user_id,
                                        OutgoingParticipation.object_uri == space.uri,
                                        OutgoingParticipation.kind == "proposal")
                                 .order_by(OutgoingParticipation.id.desc()).limit(SHOWN)))
    results = [r.result_uri for r in rows if r.result_uri]
    mirrored = dict((await db.execute(select(RemoteItem.uri, RemoteItem.id).where(
        RemoteItem.uri.in_(results), RemoteItem.remote_space_id == space.id))).all()) if results else {}
    shown = []
    for row in rows:
        article = row.activity.get("object") if isinstance(row.activity.get("object"), dict) else {}
        shown.append({"title": str(article.get("name") or ""), "answer": row.answer,
                      "text": answer_text(gettext, row, space.host), "result": row.result_uri,
                      "mirrored": mirrored.get(row.result_uri), "created_at": row.created_at})
    return shown


async def propose_context(request: web.Request, db, space: RemoteSpace, partnership) -> dict | None:
    """What the mirrored space's page shows about proposing from here; None when this node
    cannot (not a partner of a space that is not ``open``)."""
    from node.verification.service import HANDLER_LABELS, active_authorisations

    informal = partnership is None and space.federation_policy == "open"
    if partnership is None and not informal:
        return None
    gettext, user = request[GETTEXT], request.get(USER)
    required = required_authorisations(partnership.conditions) if partnership else []
    context = {"informal": informal, "required": [gettext(HANDLER_LABELS.get(n, n)) for n in required],
               "missing": False, "mine": [], "title_limit": TITLE_LIMIT, "body_limit": BODY_LIMIT}
    if user is None:
        return context
    if required:
        held = await active_authorisations(db, user.id)
        context["missing"] = not any(name in held for name in required)
    context["mine"] = await my_proposals(gettext, db, user.id, space)
    return context


async def propose(request: web.Request) -> web.Response:
    """POST title, body: the resident's proposal, sent to the host from here."""
    user = require_user(request)
    raw = request.match_info["space_id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise user_error(404, "Nothing from another node has this address here.")
    form = await request.post()  # the CSRF middleware has checked the token
    try:
        await send_proposal(request.app, user, int(raw), title=form.get("title"), body=form.get("body"))
    except ParticipationError as exc:
        # Formatted here: the error page translates a msgid, and leaves a finished sentence as is.
        message = request[GETTEXT](exc.message) % exc.values if exc.values else exc.message
        raise user_error(exc.status, message) from None
    location = request.app.router["remote_space"].url_for(space_id=raw)
    raise web.HTTPSeeOther(f"{location}#my-proposals")
