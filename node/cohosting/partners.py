"""Partnerships between nodes for co-hosted consultations (docs/FEDERATION.md, "Partnerships").

Host side (``space_partners``): an administrator invites a node into a space (``Invite`` from
the host's node actor); the partner's ``Accept`` or ``Reject`` answers it; ``Leave`` from the
partner or ``Remove`` sent by the host ends it.

Partner side (``partnerships``): an ``Invite`` waits for an administrator, who accepts it (the
node actor sends ``Accept`` to the host and ``Follow`` to the Group, so that the space is
mirrored here), declines it (``Reject``) or later ends it (``Leave`` and ``Undo{Follow}``).

Every activity goes out from the node's ``Application`` actor through the durable outbox, in
the transaction that changes the row. State changes are conditional updates (``WHERE state =
…``): two administrators clicking at once, or an answer arriving twice, change a row once.
Nothing counted while a partnership was active is deleted when it ends.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from federation.vocab import default_context, id_of, same_origin
from node.activitypub import uris
from node.activitypub.follow_models import RemoteSpace
from node.activitypub.inbox import POLICIES, InboxContext, remote_actors
from node.activitypub.outbox import enqueue
from node.appkeys import DB, SETTINGS
from node.cohosting.models import Partnership, SpacePartner
from node.cohosting.service import required_authorisations
from node.db.base import utcnow
from node.i18n import N_
from node.moderation.log import log_action
from node.spaces.models import Space
from node.verification.service import HANDLER_LABELS

log = logging.getLogger("civicnode.cohosting")

OPEN_STATES = ("invited", "active")
MAX_CONDITIONS = 20
INVITE_PATH = "/partners/invites/"
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


class PartnerError(Exception):
    """A refused action; ``message`` is a gettext msgid with %(…)s ``values``, for the admin."""

    def __init__(self, message: str, status: int = 422, **values: Any):
        super().__init__(message % values if values else message)
        self.message, self.status, self.values = message, status, values


def _now_iso() -> str:
    return utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")


def _node(app: web.Application) -> str:
    return uris.node_actor(app[SETTINGS].base_url)


def _activity(app: web.Application, kind: str, activity_id: str, **fields: Any) -> dict:
    return {"@context": default_context(), "id": activity_id, "type": kind, "actor": _node(app), **fields}


def _embedded(activity: dict) -> dict:
    return {key: value for key, value in activity.items() if key != "@context"}


async def _move(db, model, where: list, **values: Any) -> int:
    """Change the rows matching ``where`` (which names the states a change may start from)."""
    result = await db.execute(update(model).where(*where).values(**values)
                              .execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- host side ------------------------------------------------------------------------------------


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(HOSTNAME.match(host))


def node_actor_address(address: str) -> str:
    """The actor URL of the node at ``address`` (``town.example`` or ``https://town.example``)."""
    text = (address or "").strip()
    if not text:
        raise PartnerError(N_("Enter the address of a node, like town.example."))
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not _valid_host(parts.hostname or "")
            or parts.username or parts.password or parts.query or parts.fragment or len(text) > 255):
        raise PartnerError(N_("%(address)s is not a node address like town.example."), address=address.strip())
    if parts.path.rstrip("/") not in ("", "/actor"):
        raise PartnerError(N_("Enter the address of the node itself (like town.example), not of one of its "
                              "pages."))
    return f"{parts.scheme}://{parts.netloc.lower()}/actor"


async def resolve_node(app: web.Application, address: str):
    """The ``Application`` actor of the participation node at ``address``."""
    from federation.actors import ActorError
    from federation.fetch import FetchError

    url = node_actor_address(address)
    host = urlsplit(url).netloc
    if host == urlsplit(app[SETTINGS].base_url).netloc.lower():
        raise PartnerError(N_("This is this node's own address: invite another node."))
    if await app[POLICIES].refusal(host):
        raise PartnerError(N_("This node does not federate with %(host)s: its administrators blocked it "
                              "(Federated servers page)."), host=host)
    try:
        actor = await remote_actors(app).fetch(url)
    except FetchError as exc:
        log.info("resolving the node %s failed: %s", url, exc)
        if exc.code == "http_status" and exc.status in (404, 410):
            raise PartnerError(N_("No participation node answers at %(host)s. Check the address."),
                               host=host) from None
        raise PartnerError(N_("The node %(host)s could not be reached or gave an unusable answer. Check the "
                              "address, or try again later."), host=host) from None
    except ActorError:
        raise PartnerError(N_("%(host)s did not answer like a participation node (no usable actor "
                              "document)."), host=host) from None
    if actor.kind != "Application":
        raise PartnerError(N_("%(host)s is not a participation node: its actor is a %(kind)s, not a node."),
                           host=host, kind=actor.kind)
    if actor.id == _node(app):
        raise PartnerError(N_("This is this node's own address: invite another node."))
    return actor


def read_conditions(names: list[str]) -> dict:
    unknown = [name for name in names if name not in HANDLER_LABELS]
    if unknown:
        raise PartnerError(N_("Choose the conditions among the verifications listed."))
    return {"authorisations": sorted(set(names))}


async def invite(app: web.Application, admin, space_id: int, address: str, authorisations: list[str]) -> SpacePartner:
    """Invite the node at ``address`` into the space; the Invite leaves with the new row."""
    async with app[DB]() as db:
        space = await db.get(Space, space_id)
    if space is None:
        raise PartnerError(N_("No space has this address."), status=404)
    if space.federation_policy == "local":
        raise PartnerError(N_("Only residents of this node may take part in this space. To invite partner "
                              "nodes, first set “Who may take part from other nodes” to “Residents of partner "
                              "nodes too” (Edit title, description and address)."), status=409)
    if not space.published:
        raise PartnerError(N_("Publish this space first: invited nodes read it before they answer."), status=409)
    conditions = read_conditions(authorisations)
    actor = await resolve_node(app, address)
    base = app[SETTINGS].base_url
    group = uris.space_actor(base, space.slug)
    invite_id = f"{_node(app)}{INVITE_PATH}{uuid.uuid4()}"
    activity = _activity(app, "Invite", invite_id, object=group, target=actor.id, to=[actor.id],
                         conditions=conditions, published=_now_iso())
    host = urlsplit(actor.id).netloc.lower()
    try:
        async with app[DB].begin() as db:
            if await db.scalar(select(SpacePartner.id).where(SpacePartner.space_id == space.id,
                                                             SpacePartner.node_uri == actor.id,
                                                             SpacePartner.state.in_(OPEN_STATES))):
                raise PartnerError(N_("%(host)s is already a partner of this space, or already invited."),
                                   status=409, host=host)
            partner = SpacePartner(space_id=space.id, node_uri=actor.id, host=host, inbox=actor.inbox,
                                   name=(actor.name or host)[:255], state="invited", conditions=conditions,
                                   invite_activity_id=invite_id)
            db.add(partner)
            await db.flush()
            await enqueue(db, actor_type="node", actor_id=0, activity=activity, inboxes=[actor.inbox])
            await log_action(db, admin, "partnership.invite", subject_type="space_partner", subject_id=partner.id,
                             data={"space_id": space.id, "node": actor.id, "conditions": conditions})
    except IntegrityError:  # another administrator invited it at the same moment
        raise PartnerError(N_("%(host)s is already a partner of this space, or already invited."),
                           status=409, host=host) from None
    return partner


async def end_as_host(app: web.Application, admin, space_id: int, partner_id: int) -> SpacePartner:
    """End a partnership (or withdraw an invitation): ``Remove`` the node from the Group."""
    base = app[SETTINGS].base_url
    async with app[DB].begin() as db:
        # State first (see _change): of two administrators ending it at once, one sends the Remove.
        changed = await _move(db, SpacePartner, [SpacePartner.id == partner_id, SpacePartner.space_id == space_id,
                                                 SpacePartner.state.in_(OPEN_STATES)],
                              state="ended", ended_at=utcnow(), ended_by="host")
        row = (await db.execute(select(SpacePartner, Space.slug).join(Space, Space.id == SpacePartner.space_id)
                                .where(SpacePartner.id == partner_id, SpacePartner.space_id == space_id))).first()
        if row is None:
            raise PartnerError(N_("This space has no such partner."), status=404)
        if not changed:
            raise PartnerError(N_("This partnership has already ended or was declined."), status=409)
        partner, slug = row
        group = uris.space_actor(base, slug)
        activity = _activity(app, "Remove", f"{partner.invite_activity_id}/remove", object=partner.node_uri,
                             target=group, to=[partner.node_uri], published=_now_iso())
        await enqueue(db, actor_type="node", actor_id=0, activity=activity, inboxes=[partner.inbox])
        await log_action(db, admin, "partnership.end", subject_type="space_partner", subject_id=partner.id,
                         data={"space_id": space_id, "node": partner.node_uri})
    return partner


async def _answered(ctx: InboxContext, activity: dict, actor, state: str) -> None:
    invite_id = id_of(activity.get("object"))
    if not invite_id or not invite_id.startswith(_node(ctx.app) + INVITE_PATH):
        return  # an answer to something else (a Follow): not ours
    async with ctx.app[DB].begin() as db:
        changed = await _move(db, SpacePartner, [SpacePartner.invite_activity_id == invite_id,
                                                 SpacePartner.node_uri == actor.id,  # only the invited node
                                                 SpacePartner.state == "invited"],
                              state=state, answered_at=utcnow())
    if not changed:
        log.info("%s from %s about %s changed nothing (not invited, or already answered)",
                 activity.get("type"), actor.id, invite_id)


async def on_accept(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "active")


async def on_reject(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "declined")


async def on_leave(ctx: InboxContext, activity: dict, actor) -> None:
    from node.activitypub.follows import local_space_slug

    slug = local_space_slug(ctx.app[SETTINGS].base_url, id_of(activity.get("object")))
    if slug is None:
        return
    async with ctx.app[DB].begin() as db:
        await _move(db, SpacePartner, [SpacePartner.space_id == select(Space.id).where(Space.slug == slug)
                                       .scalar_subquery(),
                                       SpacePartner.node_uri == actor.id, SpacePartner.state == "active"],
                    state="ended", ended_at=utcnow(), ended_by="partner")


# --- partner side ---------------------------------------------------------------------------------


async def on_invite(ctx: InboxContext, activity: dict, actor) -> None:
    from federation.actors import ActorError
    from federation.fetch import FetchError

    if actor.kind != "Application":
        log.info("Invite %s ignored: %s is a %s, not a node", activity.get("id"), actor.id, actor.kind)
        return
    if id_of(activity.get("target")) != _node(ctx.app):
        return  # an invitation of another node, or not a partnership at all
    group_uri = id_of(activity.get("object"))
    if not group_uri or not same_origin(group_uri, actor.id):
        log.info("Invite %s ignored: its object is not a space of %s", activity.get("id"), actor.id)
        return
    invite_id = activity["id"]
    async with ctx.app[DB]() as db:
        if await db.scalar(select(Partnership.id).where(Partnership.invite_activity_id == invite_id)):
            return
    try:
        group = await remote_actors(ctx.app).fetch(group_uri)
    except (FetchError, ActorError) as exc:
        log.info("Invite %s ignored: its space %s could not be read: %s", invite_id, group_uri, exc)
        return
    if group.kind != "Group" or not same_origin(group.id, actor.id):
        log.info("Invite %s ignored: %s is not a Group of %s", invite_id, group_uri, actor.id)
        return
    raw = activity.get("conditions")
    names = required_authorisations(raw if isinstance(raw, dict) else None)
    conditions = {"authorisations": [name[:64] for name in names[:MAX_CONDITIONS]]}
    host = urlsplit(actor.id).netloc.lower()
    handle = f"{group.preferred_username or group.id.rsplit('/', 1)[-1]}@{urlsplit(group.id).netloc.lower()}"
    try:
        async with ctx.app[DB].begin() as db:
            # A new invitation supersedes an open one of the same space (the host ended the old
            # one and invited again): one open partnership per space here too.
            await _move(db, Partnership, [Partnership.space_uri == group.id, Partnership.host_node_uri == actor.id,
                                          Partnership.state.in_(OPEN_STATES)],
                        state="ended", ended_at=utcnow(), ended_by="host")
            db.add(Partnership(space_uri=group.id, host_node_uri=actor.id, host=host, host_inbox=actor.inbox,
                               space_name=(group.name or "")[:500], space_handle=handle[:512], state="invited",
                               conditions=conditions, invite_activity_id=invite_id, invite=_embedded(activity)))
    except IntegrityError:  # the same Invite handled concurrently
        pass


async def on_remove(ctx: InboxContext, activity: dict, actor) -> None:
    if id_of(activity.get("object")) != _node(ctx.app):
        return
    group_uri = id_of(activity.get("target"))
    if not group_uri:
        return
    async with ctx.app[DB].begin() as db:
        rows = (await db.scalars(select(Partnership).where(Partnership.space_uri == group_uri,
                                                           Partnership.host_node_uri == actor.id,
                                                           Partnership.state.in_(OPEN_STATES)))).all()
        for partnership in rows:
            if await _move(db, Partnership, [Partnership.id == partnership.id, Partnership.state.in_(OPEN_STATES)],
                           state="ended", ended_at=utcnow(), ended_by="host"):
                # The host no longer counts us: stop the mirror's updates too.
                await _unfollow(ctx.app, db, partnership)


async def _load(db, partnership_id: int) -> Partnership:
    partnership = await db.get(Partnership, partnership_id)
    if partnership is None:
        raise PartnerError(N_("No invitation has this address."), status=404)
    return partnership


async def _refused(db, partnership_id: int) -> PartnerError:
    """Why a partnership could not change: it does not exist, or it is not in the state needed."""
    messages = {"invited": N_("This invitation is still waiting for an answer."),
                "active": N_("This partnership is already active."),
                "declined": N_("This invitation was declined."),
                "ended": N_("This partnership has ended.")}
    state = await db.scalar(select(Partnership.state).where(Partnership.id == partnership_id))
    if state is None:
        return PartnerError(N_("No invitation has this address."), status=404)
    return PartnerError(messages.get(state, messages["ended"]), status=409)


async def _change(db, partnership_id: int, from_state: str, **values: Any) -> Partnership:
    # The conditional UPDATE comes first in the transaction: of two administrators clicking at
    # once, one changes the row and the other is told why not (no read-then-write race on
    # either engine).
    if not await _move(db, Partnership, [Partnership.id == partnership_id, Partnership.state == from_state],
                       **values):
        raise await _refused(db, partnership_id)
    return await _load(db, partnership_id)


async def accept(app: web.Application, admin, partnership_id: int) -> Partnership:
    """Accept an invitation: tell the host, follow the Group, fill the mirror."""
    from federation.actors import ActorError
    from federation.fetch import FetchError
    from node.activitypub.mirror import _store_space, backfill

    async with app[DB]() as db:
        partnership = await _load(db, partnership_id)
        if partnership.state != "invited":
            raise await _refused(db, partnership_id)
    try:
        group = await remote_actors(app).fetch(partnership.space_uri)
    except (FetchError, ActorError) as exc:
        log.info("accepting partnership %s: the space %s could not be read: %s", partnership_id,
                 partnership.space_uri, exc)
        raise PartnerError(N_("The node %(host)s could not be reached, so the invitation was not answered. Try "
                              "again later."), status=502, host=partnership.host) from None
    node = _node(app)
    follow_id = f"{node}/follows/{uuid.uuid4()}"
    async with app[DB].begin() as db:
        partnership = await _change(db, partnership_id, "invited", state="active", answered_at=utcnow(),
                                    follow_activity_id=follow_id)
        space = await _store_space(db, group)  # the mirror's own code: one copy of a remote space
        partnership.remote_space_id = space.id
        accept_activity = _activity(app, "Accept", f"{node}/partnerships/{uuid.uuid4()}/accept",
                                    object=partnership.invite or partnership.invite_activity_id,
                                    to=[partnership.host_node_uri])
        follow = _activity(app, "Follow", follow_id, object=group.id, to=[group.id])
        await enqueue(db, actor_type="node", actor_id=0, activity=accept_activity, inboxes=[partnership.host_inbox])
        await enqueue(db, actor_type="node", actor_id=0, activity=follow, inboxes=[group.inbox])
        await log_action(db, admin, "partnership.accept", subject_type="partnership", subject_id=partnership.id,
                         data={"space": partnership.space_uri, "host": partnership.host_node_uri})
        space_id, backfilled = space.id, space.backfilled_at is not None
    if not backfilled:
        await backfill(app, space_id)
    return partnership


async def decline(app: web.Application, admin, partnership_id: int) -> Partnership:
    node = _node(app)
    async with app[DB].begin() as db:
        partnership = await _change(db, partnership_id, "invited", state="declined", answered_at=utcnow())
        reject = _activity(app, "Reject", f"{node}/partnerships/{uuid.uuid4()}/reject",
                           object=partnership.invite or partnership.invite_activity_id,
                           to=[partnership.host_node_uri])
        await enqueue(db, actor_type="node", actor_id=0, activity=reject, inboxes=[partnership.host_inbox])
        await log_action(db, admin, "partnership.decline", subject_type="partnership", subject_id=partnership.id,
                         data={"space": partnership.space_uri, "host": partnership.host_node_uri})
    return partnership


async def end_as_partner(app: web.Application, admin, partnership_id: int) -> Partnership:
    """Leave the space: tell the host, stop following the Group."""
    node = _node(app)
    async with app[DB].begin() as db:
        partnership = await _change(db, partnership_id, "active", state="ended", ended_at=utcnow(),
                                    ended_by="partner")
        leave = _activity(app, "Leave", f"{node}/partnerships/{uuid.uuid4()}/leave",
                          object=partnership.space_uri, to=[partnership.host_node_uri])
        await enqueue(db, actor_type="node", actor_id=0, activity=leave, inboxes=[partnership.host_inbox])
        await _unfollow(app, db, partnership)
        await log_action(db, admin, "partnership.leave", subject_type="partnership", subject_id=partnership.id,
                         data={"space": partnership.space_uri, "host": partnership.host_node_uri})
    return partnership


async def _unfollow(app: web.Application, db, partnership: Partnership) -> None:
    if not partnership.follow_activity_id or partnership.remote_space_id is None:
        return
    inbox = await db.scalar(select(RemoteSpace.inbox).where(RemoteSpace.id == partnership.remote_space_id))
    if not inbox:
        return
    node = _node(app)
    undo = _activity(app, "Undo", f"{partnership.follow_activity_id}/undo",
                     object={"id": partnership.follow_activity_id, "type": "Follow", "actor": node,
                             "object": partnership.space_uri},
                     to=[partnership.space_uri])
    await enqueue(db, actor_type="node", actor_id=0, activity=undo, inboxes=[inbox])
