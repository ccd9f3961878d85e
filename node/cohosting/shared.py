"""Shared proposals: a proposal born on one node (e.g. a citizen collective) proposed into a space
of another node (e.g. the city's budget), as docs/FEDERATION.md "Shared proposals" describes.

Origin side: the author (or an administrator) offers the proposal; the space's Group sends an
``Offer`` of the proposal's ``Article`` to the other space's Group. Receiving side: the offer
waits for that space's administrators; accepted, it becomes a local proposal marked with its
origin (``Proposal.origin_uri``), the Group answers ``Accept`` (``result``: the new proposal's id)
and this node follows the origin space, so that the origin's Announces of edits and withdrawals
update the copy. Whenever the copy's supports or state change, the receiving Group sends an
``Update`` of its own ``Article`` to the origin, which shows the support gathered on each node.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

import nh3
from aiohttp import web
from sqlalchemy import select

from federation.vocab import AS_CONTEXT, id_of, same_origin, types_of
from node.activitypub import uris
from node.activitypub.inbox import InboxContext
from node.appkeys import DB, SETTINGS
from node.cohosting.models import ProposalOffer, ProposalShare
from node.db.base import utcnow
from node.i18n import N_
from node.spaces.models import Component, Space

log = logging.getLogger("civicnode.shared")

TITLE_LIMIT, BODY_LIMIT = 200, 20_000


class ShareError(Exception):
    def __init__(self, message: str, status: int = 422, **values: Any):
        super().__init__(message % values if values else message)
        self.message, self.status, self.values = message, status, values


def _article_of(proposal, version, space, base: str) -> dict:
    from node.components.proposals.activities import proposal_to_article

    author = getattr(proposal, "_author_username", None)
    article = proposal_to_article(proposal, version, base_url=base, space_slug=space.slug, author_username=author,
                                  locale="en", counts_visible=False)
    if proposal.origin_uri:  # a copy says where it comes from
        article["context"] = proposal.origin_uri
    return article


async def _load(db, proposal_id: int):
    from node.accounts.models import User
    from node.components.proposals.models import Proposal, ProposalVersion

    proposal = await db.get(Proposal, proposal_id)
    if proposal is None:
        return None
    version = await db.scalar(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id,
                                                            ProposalVersion.number == proposal.version_number))
    author = await db.get(User, proposal.author_id) if proposal.author_id else None
    proposal._author_username = author.username if author else None
    space = await db.get(Space, proposal.space_id)
    return proposal, version, space


# --- origin side ------------------------------------------------------------------------------


async def offer(app: web.Application, user, proposal_id: int, address: str) -> ProposalShare:
    """Offer our proposal to the space ``address`` names (``slug@host`` or its URL)."""
    from node.activitypub.mirror import FollowError, resolve_space
    from node.activitypub.outbox import enqueue

    base = app[SETTINGS].base_url
    async with app[DB]() as db:
        loaded = await _load(db, proposal_id)
        if loaded is None:
            raise ShareError(N_("This proposal does not exist."), 404)
        proposal, version, space = loaded
        if not (user.is_admin or user.id == proposal.author_id):
            raise ShareError(N_("Only the author of a proposal or an administrator can propose it to another "
                                "node."), 403)
        if proposal.origin_uri:
            raise ShareError(N_("This proposal comes from another node: only its own node can share it."), 409)
        if proposal.state in ("withdrawn", "rejected"):
            raise ShareError(N_("A withdrawn or rejected proposal cannot be proposed elsewhere."), 409)
    try:
        group = await resolve_space(app, address)
    except FollowError as exc:
        raise ShareError(exc.message, 422, **exc.values) from None
    async with app[DB].begin() as db:
        if await db.scalar(select(ProposalShare.id).where(ProposalShare.proposal_id == proposal_id,
                                                          ProposalShare.target_space_uri == group.id)):
            raise ShareError(N_("This proposal was already proposed to that space."), 409)
        article = _article_of(proposal, version, space, base)
        article.pop("@context", None)
        source = uris.space_actor(base, space.slug)
        activity = {"@context": AS_CONTEXT, "id": f"{article['id']}/offers/{uuid.uuid4()}", "type": "Offer",
                    "actor": source, "object": article, "target": group.id, "to": [group.id]}
        share = ProposalShare(proposal_id=proposal_id, target_space_uri=group.id, target_inbox=group.inbox,
                              target_name=(group.name or group.preferred_username or "")[:500],
                              target_host=urlsplit(group.id).netloc.lower(), offer_activity_id=activity["id"],
                              offered_by_id=user.id)
        db.add(share)
        await enqueue(db, actor_type="space", actor_id=space.id, activity=activity, inboxes=[group.inbox])
    return share


async def _answered(ctx: InboxContext, activity: dict, actor, state: str) -> None:
    offer_id = id_of(activity.get("object"))
    if not offer_id:
        return
    async with ctx.app[DB].begin() as db:
        share = await db.scalar(select(ProposalShare).where(ProposalShare.offer_activity_id == offer_id))
        if share is None or share.target_space_uri != actor.id or share.state != "pending":
            return
        share.state, share.answered_at = state, utcnow()
        result = id_of(activity.get("result"))
        if state == "accepted" and result and same_origin(result, actor.id):
            share.remote_proposal_uri = result


async def on_accept(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "accepted")


async def on_reject(ctx: InboxContext, activity: dict, actor) -> None:
    await _answered(ctx, activity, actor, "refused")


async def on_update(ctx: InboxContext, activity: dict, actor) -> None:
    """The receiving space reports its copy: state and support count there."""
    obj = activity.get("object")
    if not isinstance(obj, dict) or "Article" not in types_of(obj):
        return
    async with ctx.app[DB].begin() as db:
        share = await db.scalar(select(ProposalShare).where(ProposalShare.remote_proposal_uri == id_of(obj),
                                                            ProposalShare.target_space_uri == actor.id))
        if share is None:
            return
        count = obj.get("supportCount")
        share.remote_support_count = count if isinstance(count, int) and count >= 0 else None
        state = obj.get("state")
        share.remote_state = state[:16] if isinstance(state, str) else None
        share.reported_at = utcnow()


async def shares_of(db, proposal_id: int) -> list[ProposalShare]:
    return list(await db.scalars(select(ProposalShare).where(ProposalShare.proposal_id == proposal_id)
                                 .order_by(ProposalShare.id)))


# --- receiving side ---------------------------------------------------------------------------


def _plain(html: Any) -> str:
    return nh3.clean(html, tags=set()) if isinstance(html, str) else ""


def offered_text(article: dict) -> tuple[str, str]:
    """(title, body in the Markdown-ish text our proposals keep) of an offered Article."""
    title = _plain(article.get("name")).strip()[:TITLE_LIMIT]
    source = article.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        body = source["content"]
    else:
        body = _plain(article.get("content"))
    return title, body.strip()[:BODY_LIMIT]


async def on_offer(ctx: InboxContext, activity: dict, actor) -> None:
    from node.activitypub.follows import local_space_slug
    from node.activitypub.outbox import enqueue

    base = ctx.app[SETTINGS].base_url
    slug = local_space_slug(base, id_of(activity.get("target")))
    article = activity.get("object")
    if slug is None or not isinstance(article, dict) or "Article" not in types_of(article):
        return
    origin = id_of(article)
    if not origin or not same_origin(origin, actor.id) or actor.kind != "Group":
        return  # only a space offers, and only its own node's proposals
    title, _ = offered_text(article)
    async with ctx.app[DB].begin() as db:
        space = await db.scalar(select(Space).where(Space.slug == slug))
        if space is None or not space.published:
            return
        if await db.scalar(select(ProposalOffer.id).where(ProposalOffer.offer_activity_id == activity["id"])):
            return
        group = uris.space_actor(base, slug)
        if space.federation_policy == "local" or not title:
            reason = "space_local" if space.federation_policy == "local" else "no_title"
            reject = {"@context": AS_CONTEXT, "id": f"{group}/offers/{uuid.uuid4()}/reject", "type": "Reject",
                      "actor": group, "object": activity["id"], "to": [actor.id], "summary": reason}
            await enqueue(db, actor_type="space", actor_id=space.id, activity=reject, inboxes=[actor.inbox])
            return
        open_offer = await db.scalar(select(ProposalOffer).where(ProposalOffer.space_id == space.id,
                                                                 ProposalOffer.origin_uri == origin,
                                                                 ProposalOffer.state.in_(("pending", "accepted"))))
        if open_offer is not None:
            return  # offered again: the first offer stands
        db.add(ProposalOffer(space_id=space.id, origin_uri=origin, origin_space_uri=actor.id,
                             origin_inbox=actor.inbox, origin_host=urlsplit(origin).netloc.lower(),
                             offer_activity_id=activity["id"], article=article))


async def answer_offer(app: web.Application, admin, offer_id: int, accept: bool,
                       component_id: int | None = None) -> ProposalOffer:
    """The space's administrators accept (into a proposals component) or refuse an offer."""
    from node.activitypub.mirror import _store_space
    from node.activitypub.outbox import enqueue
    from node.components.proposals.models import Proposal
    from node.components.proposals.service import record_proposal_event
    from node.components.proposals.versions import add_version, now_seconds
    from node.moderation.log import log_action

    base = app[SETTINGS].base_url
    group_actor = None
    if accept:
        from node.activitypub.inbox import remote_actors

        async with app[DB]() as db:
            found = await db.get(ProposalOffer, offer_id)
        if found is not None:
            try:
                group_actor = await remote_actors(app).fetch(found.origin_space_uri)
            except Exception as exc:  # accepting still works; edits then arrive only if followed later
                log.info("offer %s: the origin space %s could not be read: %s", offer_id, found.origin_space_uri, exc)
    async with app[DB].begin() as db:
        found = await db.get(ProposalOffer, offer_id, with_for_update=True)
        if found is None:
            raise ShareError(N_("No offer has this address."), 404)
        if found.state != "pending":
            raise ShareError(N_("This offer was already answered."), 409)
        space = await db.get(Space, found.space_id)
        group = uris.space_actor(base, space.slug)
        found.answered_at, found.answered_by_id = utcnow(), admin.id
        if not accept:
            found.state = "refused"
            answer = {"@context": AS_CONTEXT, "id": f"{group}/offers/{found.id}/reject", "type": "Reject",
                      "actor": group, "object": found.offer_activity_id, "to": [found.origin_space_uri]}
        else:
            component = await db.get(Component, component_id) if component_id else None
            if component is None or component.space_id != space.id or component.kind != "proposals":
                raise ShareError(N_("Choose the proposals component of this space that will hold it."), 422)
            title, body = offered_text(found.article)
            created = now_seconds()
            proposal = Proposal(component_id=component.id, space_id=space.id, author_id=None,
                                origin_uri=found.origin_uri,
                                origin_author_uri=id_of(found.article.get("attributedTo")),
                                state="not_answered", support_count=0, comments_count=0, created_at=created)
            await add_version(db, proposal, base_url=base, space_slug=space.slug, author_username=None,
                              author=proposal.origin_author_uri, title=title, body=body, category="", address="",
                              created_at=created)
            await record_proposal_event(db, "proposal.created", proposal, actor_id=admin.id)
            found.state, found.proposal_id = "accepted", proposal.id
            answer = {"@context": AS_CONTEXT, "id": f"{group}/offers/{found.id}/accept", "type": "Accept",
                      "actor": group, "object": found.offer_activity_id, "to": [found.origin_space_uri],
                      "result": f"{base}/spaces/{space.slug}/proposals/{proposal.id}"}
            if group_actor is not None:  # follow the origin space: its edits and withdrawals reach us
                await _store_space(db, group_actor)
                node = uris.node_actor(base)
                follow = {"@context": AS_CONTEXT, "id": f"{node}/follows/{uuid.uuid4()}", "type": "Follow",
                          "actor": node, "object": group_actor.id, "to": [group_actor.id]}
                await enqueue(db, actor_type="node", actor_id=0, activity=follow, inboxes=[group_actor.inbox])
        await enqueue(db, actor_type="space", actor_id=space.id, activity=answer, inboxes=[found.origin_inbox])
        await log_action(db, admin, "proposal_offer.accept" if accept else "proposal_offer.refuse",
                         subject_type="proposal_offer", subject_id=found.id,
                         data={"origin": found.origin_uri, "space": space.slug})
    return found


async def report_to_origin(db, base: str, proposal_id: int) -> None:
    """Tell the origin node how its proposal fares here (after a support or a state answer)."""
    from node.activitypub.outbox import enqueue
    from node.components.proposals.settings import counts_visible, settings_of

    offer_row = await db.scalar(select(ProposalOffer).where(ProposalOffer.proposal_id == proposal_id,
                                                            ProposalOffer.state == "accepted"))
    if offer_row is None:
        return
    loaded = await _load(db, proposal_id)
    if loaded is None:
        return
    proposal, version, space = loaded
    from node.components.proposals.common import active_phase_id

    component = await db.get(Component, proposal.component_id)
    shown = counts_visible(settings_of(component), await active_phase_id(db, space.id), None)
    from node.components.proposals.activities import proposal_to_article

    article = proposal_to_article(proposal, version, base_url=base, space_slug=space.slug, author_username=None,
                                  locale="en", counts_visible=shown)
    article.pop("@context", None)
    # attributedTo stays this space's Group: an object an actor sends is on its own origin (the
    # inbox's origin checks); the origin knows its author.
    article["context"] = proposal.origin_uri
    group = uris.space_actor(base, space.slug)
    update = {"@context": AS_CONTEXT, "id": f"{group}/reports/{uuid.uuid4()}", "type": "Update",
              "actor": group, "object": article, "to": [offer_row.origin_space_uri]}
    await enqueue(db, actor_type="space", actor_id=space.id, activity=update, inboxes=[offer_row.origin_inbox])


async def on_origin_announce(ctx: InboxContext, activity: dict, actor) -> None:
    """The origin space announces an edit or a withdrawal of a proposal we hold a copy of."""
    from node.components.proposals.models import Proposal
    from node.components.proposals.versions import add_version

    inner = activity.get("object")
    if not isinstance(inner, dict):
        return
    kinds = types_of(inner)
    obj = inner.get("object")
    origin = id_of(obj)
    if not origin or not same_origin(origin, actor.id) or not ({"Update", "Delete"} & set(kinds)):
        return
    base = ctx.app[SETTINGS].base_url
    async with ctx.app[DB].begin() as db:
        copy = await db.scalar(select(Proposal).where(Proposal.origin_uri == origin))
        if copy is None:
            return
        offer_row = await db.scalar(select(ProposalOffer).where(ProposalOffer.proposal_id == copy.id))
        if offer_row is None or offer_row.origin_space_uri != actor.id:
            return
        space = await db.get(Space, copy.space_id)
        if "Delete" in kinds or (isinstance(obj, dict) and obj.get("state") == "withdrawn"):
            if copy.state != "withdrawn":
                copy.state, copy.withdrawn_at = "withdrawn", utcnow()
            return
        if not isinstance(obj, dict):
            return
        title, body = offered_text(obj)
        if title and (title, body) != (copy.title, copy.body):
            await add_version(db, copy, base_url=base, space_slug=space.slug, author_username=None,
                              author=copy.origin_author_uri, title=title, body=body, category=copy.category,
                              address=copy.address)
