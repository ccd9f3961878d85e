"""Home side of a resident changing what they wrote in a co-hosted space: their comment or
proposal, published by the host, is edited or deleted from its mirror here.

Only what the resident sent from here and the host accepted can be changed from here: the
Accept named what it became there (``result_uri``), the mirror shows it under that address. The
change is sent as the resident's own ``Update`` of the Note or Article their Create carried (same
id: the host remembered which comment or proposal it became), or ``Delete`` of it, signed by the
resident with a fresh attestation of this node, like the Create. The host applies the rules its
own residents have (the edit window of proposals; a deleted comment leaves its place in the
thread; a proposal is withdrawn, never erased) and answers; the space's Update or Delete then
changes the mirror like any other. One change at a time: the next waits for the host's answer.
"""
from __future__ import annotations

import uuid

from aiohttp import web
from sqlalchemy import select

from node.activitypub import uris
from node.activitypub.follow_models import RemoteItem, RemoteSpace
from node.appkeys import DB, GETTEXT, SETTINGS
from node.cohosting.home import ParticipationError, _attestation, _context, _signed
from node.cohosting.models import OutgoingParticipation
from node.cohosting.reasons import reason_text
from node.cohosting.service import active_partnership
from node.db.base import utcnow
from node.i18n import N_
from node.web.context import require_user
from node.web.errors import user_error

# (item kind, action) -> kind of the OutgoingParticipation (and of the host's record).
KINDS = {("comment", "edit"): "comment_edit", ("comment", "delete"): "comment_delete",
         ("proposal", "edit"): "proposal_edit", ("proposal", "delete"): "proposal_withdraw"}
WAITING = N_("Your change was sent to %(host)s; its answer will show here.")
ACCEPTED = {"comment_edit": N_("Your edit is published by %(host)s."),
            "comment_delete": N_("Your comment is deleted on %(host)s."),
            "proposal_edit": N_("Your edit is published by %(host)s, as a new version of your proposal."),
            "proposal_withdraw": N_("Your proposal is withdrawn on %(host)s.")}
REFUSED = N_("%(host)s did not make your change: %(reason)s")


async def _created(db, user_id: int, item_uri: str) -> OutgoingParticipation | None:
    """The resident's Create that the host published as ``item_uri``."""
    return await db.scalar(select(OutgoingParticipation).where(
        OutgoingParticipation.user_id == user_id, OutgoingParticipation.result_uri == item_uri,
        OutgoingParticipation.kind.in_(("comment", "proposal")), OutgoingParticipation.answer == "accepted"))


async def changes_of(db, user_id: int, item_uris: list[str]) -> dict[str, OutgoingParticipation]:
    """{item URI: the resident's latest change of it}."""
    if not item_uris:
        return {}
    rows = await db.scalars(select(OutgoingParticipation).where(
        OutgoingParticipation.user_id == user_id, OutgoingParticipation.object_uri.in_(item_uris),
        OutgoingParticipation.kind.in_(tuple(KINDS.values()))).order_by(OutgoingParticipation.id))
    return {row.object_uri: row for row in rows}


def current_object(created: OutgoingParticipation, change: OutgoingParticipation | None) -> dict:
    """The object as last published from here: the accepted edit's, else the Create's."""
    edited = change is not None and change.answer == "accepted" and change.kind.endswith("_edit")
    obj = (change if edited else created).activity.get("object")
    return obj if isinstance(obj, dict) else {}


async def send_change(app, user, space_id: int, item_id: int, action: str, *, title=None,
                      body=None) -> tuple[OutgoingParticipation, str]:
    """Send the resident's edit (``action`` "edit", with the new ``body``, and ``title`` for a
    proposal) or deletion ("delete") of their comment or proposal mirrored as ``item_id``:
    (what was sent, the proposal's URI the page returns to). ParticipationError when this node
    refuses before sending."""
    from node.activitypub.outbox import enqueue
    from node.cohosting.comments_home import clean_text
    from node.cohosting.proposals_home import clean_fields

    base = app[SETTINGS].base_url
    async with app[DB].begin() as db:
        row = (await db.execute(select(RemoteItem, RemoteSpace).join(RemoteSpace)
                                .where(RemoteItem.id == item_id, RemoteSpace.id == space_id))).first()
        if row is None or row[0].kind not in ("comment", "proposal"):
            raise ParticipationError(N_("Nothing from another node has this address here."), 404)
        item, space = row
        created = await _created(db, user.id, item.uri)
        if created is None:
            raise ParticipationError(N_("You can change only what you wrote from this node."), 403)
        if item.deleted_at is not None or item.state == "withdrawn":
            raise ParticipationError(N_("It was deleted or withdrawn already: it can no longer be changed."), 409)
        change = (await changes_of(db, user.id, [item.uri])).get(item.uri)
        if change is not None and change.answer == "pending":
            raise ParticipationError(N_("Your previous change has not been answered yet: wait for the answer of "
                                        "%(host)s."), 409, host=space.host)
        partnership = await active_partnership(db, space.uri)
        if action == "edit" and partnership is None and space.federation_policy != "open":
            raise ParticipationError(N_("This node is no longer a partner of this consultation: you can delete "
                                        "what you wrote there, not edit it."))
        original = current_object(created, change)
        person = uris.user_actor(base, user.username)
        now = utcnow().isoformat().replace("+00:00", "Z")
        if action == "edit":
            changed = dict(original, updated=now)
            if item.kind == "comment":
                changed["content"] = clean_text(body)
            else:
                changed["name"], changed["content"] = clean_fields(title, body)
            changed["mediaType"] = "text/markdown"
            changed.pop("source", None)
            activity_type, obj = "Update", changed
        else:
            activity_type, obj = "Delete", original.get("id")
        activity = {"@context": _context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": activity_type,
                    "actor": person, "object": obj, "audience": space.uri, "to": [space.uri], "published": now,
                    "attestation": await _attestation(db, base, user, space.uri,
                                                      partnership.conditions if partnership else {})}
        activity = await _signed(db, "user", user.id, person, activity)
        sent = OutgoingParticipation(user_id=user.id, space_uri=space.uri, object_uri=item.uri,
                                     kind=KINDS[(item.kind, action)], activity_id=activity["id"], activity=activity)
        db.add(sent)
        await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[space.inbox])
    return sent, created.object_uri if item.kind == "comment" else item.uri


def change_text(gettext, row: OutgoingParticipation, host: str) -> str:
    if row.answer == "pending":
        return gettext(WAITING) % {"host": host}
    if row.answer == "accepted":
        return gettext(ACCEPTED[row.kind]) % {"host": host}
    return gettext(REFUSED) % {"host": host, "reason": reason_text(gettext, row.reason, row.reason_text)}


async def mine(gettext, db, user_id: int, space: RemoteSpace) -> dict[int, dict]:
    """{mirrored item id: what its page shows the resident about changing it} for the comments
    and proposals of ``space`` they wrote from here: the text to edit, the latest change's
    answer, whether another change can be sent now."""
    created = {row.result_uri: row for row in await db.scalars(select(OutgoingParticipation).where(
        OutgoingParticipation.user_id == user_id, OutgoingParticipation.space_uri == space.uri,
        OutgoingParticipation.kind.in_(("comment", "proposal")), OutgoingParticipation.answer == "accepted",
        OutgoingParticipation.result_uri.is_not(None)))}
    if not created:
        return {}
    items = await db.scalars(select(RemoteItem).where(RemoteItem.remote_space_id == space.id,
                                                      RemoteItem.uri.in_(list(created))))
    changes = await changes_of(db, user_id, list(created))
    shown = {}
    for item in items:
        change = changes.get(item.uri)
        current = current_object(created[item.uri], change)
        shown[item.id] = {
            "title": str(current.get("name") or ""), "body": str(current.get("content") or ""),
            "status": change_text(gettext, change, space.host) if change is not None else None,
            "refused": change is not None and change.answer == "rejected",
            "open": item.deleted_at is None and item.state != "withdrawn"
            and (change is None or change.answer != "pending")}
    return shown


async def _post(request: web.Request, action: str) -> web.Response:
    user = require_user(request)
    ids = []
    for name in ("space_id", "item_id"):
        raw = request.match_info[name]
        if not raw.isdigit() or not 0 < int(raw) < 2**31:
            raise user_error(404, "Nothing from another node has this address here.")
        ids.append(int(raw))
    form = await request.post()  # the CSRF middleware has checked the token
    try:
        sent, page_uri = await send_change(request.app, user, *ids, action, title=form.get("title"),
                                           body=form.get("body"))
    except ParticipationError as exc:
        # Formatted here: the error page translates a msgid, and leaves a finished sentence as is.
        message = request[GETTEXT](exc.message) % exc.values if exc.values else exc.message
        raise user_error(exc.status, message) from None
    async with request.app[DB]() as db:
        page = await db.scalar(select(RemoteItem.id).where(RemoteItem.uri == page_uri,
                                                           RemoteItem.remote_space_id == ids[0]))
    location = request.app.router["remote_item"].url_for(space_id=str(ids[0]), item_id=str(page or ids[1]))
    anchor = "my-proposal" if sent.kind.startswith("proposal") else f"remote-comment-{ids[1]}"
    raise web.HTTPSeeOther(f"{location}#{anchor}")


async def edit(request: web.Request) -> web.Response:
    """POST body (and title for a proposal): the resident's edit, sent to the host from here."""
    return await _post(request, "edit")


async def delete(request: web.Request) -> web.Response:
    """POST: the resident deletes their comment, or withdraws their proposal, from here."""
    return await _post(request, "delete")
