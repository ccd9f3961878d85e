"""Home side of remote comments: a resident of this node comments on a proposal of a space this
node co-hosts (or replies to a comment on it) from the space's mirror here.

As for a support (node.cohosting.home): the home node checks the resident's authorisations
against what the partnership asks for, then sends a ``Create{Note}`` signed by the resident
(HTTP signature and FEP-8b32 proof) carrying this node's eligibility attestation. The Note holds
the resident's words as typed (``text/markdown``, the light markup local comments take); the host
renders them with its own sanitiser. What was sent and the host's answer are kept in
``outgoing_participations`` (kind ``comment``); once published, the comment comes back to the
mirror like any comment of the space.
"""
from __future__ import annotations

import uuid

from sqlalchemy import select

from node.activitypub import uris
from node.activitypub.follow_models import RemoteItem, RemoteSpace
from node.appkeys import DB, SETTINGS
from node.cohosting.home import ParticipationError, _attestation, _context, _signed
from node.cohosting.models import OutgoingParticipation
from node.cohosting.service import active_partnership
from node.db.base import utcnow
from node.i18n import N_

ALIGNMENTS = ("neutral", "in_favor", "against")
MAX_DEPTH = 16  # how far up a reply's thread is followed to find its proposal
SHOWN = 20  # the resident's latest comments listed on the proposal's page


async def _under(db, space_id: int, comment: RemoteItem, root_uri: str) -> bool:
    """Whether the mirrored ``comment`` is in the thread of ``root_uri``."""
    uri = comment.in_reply_to
    for _ in range(MAX_DEPTH):
        if uri == root_uri:
            return True
        uri = await db.scalar(select(RemoteItem.in_reply_to).where(RemoteItem.uri == uri,
                                                                   RemoteItem.remote_space_id == space_id,
                                                                   RemoteItem.kind == "comment"))
        if uri is None:
            return False
    return False


def clean_text(body) -> str:
    from node.components.comments.service import CommentError, clean_body

    try:
        return clean_body(body)
    except CommentError as exc:
        raise ParticipationError(exc.message, 422, **exc.values) from None


async def send_comment(app, user, space_id: int, item_id: int, *, body, alignment: str | None = None,
                       parent_id: int | None = None) -> OutgoingParticipation:
    """Send the resident's comment on a mirrored proposal (``parent_id``: a mirrored comment of
    its thread, to reply to). Raises ParticipationError when this node refuses before sending."""
    from node.activitypub.outbox import enqueue

    text = clean_text(body)
    alignment = alignment or "neutral"
    if alignment not in ALIGNMENTS:
        raise ParticipationError(N_("Choose whether you are in favour, against or neutral."), 422)
    base = app[SETTINGS].base_url
    async with app[DB].begin() as db:
        row = (await db.execute(select(RemoteItem, RemoteSpace).join(RemoteSpace)
                                .where(RemoteItem.id == item_id, RemoteSpace.id == space_id))).first()
        if row is None or row[0].kind != "proposal" or row[0].deleted_at is not None:
            raise ParticipationError(N_("Nothing from another node has this address here."), 404)
        item, space = row
        parent = None
        if parent_id is not None:
            parent = await db.scalar(select(RemoteItem).where(RemoteItem.id == parent_id,
                                                              RemoteItem.remote_space_id == space.id,
                                                              RemoteItem.kind == "comment"))
            if parent is None or not await _under(db, space.id, parent, item.uri):
                raise ParticipationError(N_("The comment you replied to is not one of this proposal's."), 404)
            if parent.deleted_at is not None:
                raise ParticipationError(N_("The comment you replied to was deleted; you cannot reply to it."), 422)
        partnership = await active_partnership(db, space.uri)
        conditions = partnership.conditions if partnership is not None else {}
        if partnership is None and space.federation_policy != "open":
            raise ParticipationError(N_("This node is not a partner of this consultation: you can read it here, "
                                        "but take part only on its own node."))
        person = uris.user_actor(base, user.username)
        published = utcnow().isoformat().replace("+00:00", "Z")
        note = {"id": f"{person}/comments/{uuid.uuid4()}", "type": "Note", "attributedTo": person,
                "inReplyTo": parent.uri if parent is not None else item.uri, "content": text,
                "mediaType": "text/markdown", "alignment": alignment, "audience": space.uri, "to": [space.uri],
                "published": published}
        activity = {"@context": _context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Create",
                    "actor": person, "object": note, "audience": space.uri, "to": [space.uri], "published": published,
                    "attestation": await _attestation(db, base, user, space.uri, conditions)}
        activity = await _signed(db, "user", user.id, person, activity)
        sent = OutgoingParticipation(user_id=user.id, space_uri=space.uri, object_uri=item.uri, kind="comment",
                                     activity_id=activity["id"], activity=activity)
        db.add(sent)
        await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[space.inbox])
    return sent


async def sent_comments(db, user_id: int, object_uri: str) -> list[OutgoingParticipation]:
    """The resident's latest comments on the proposal ``object_uri``, newest first."""
    return list(await db.scalars(select(OutgoingParticipation)
                                 .where(OutgoingParticipation.user_id == user_id,
                                        OutgoingParticipation.object_uri == object_uri,
                                        OutgoingParticipation.kind == "comment")
                                 .order_by(OutgoingParticipation.id.desc()).limit(SHOWN)))


async def mirrored_ids(db, uris_: list[str]) -> dict[str, int]:
    """{comment URI: its id in the mirror} for the comments the host published."""
    if not uris_:
        return {}
    return dict((await db.execute(select(RemoteItem.uri, RemoteItem.id).where(RemoteItem.uri.in_(uris_)))).all())
