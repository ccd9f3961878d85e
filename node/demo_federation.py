"""Federating the three demo nodes once they listen (`civicnode demo`): they follow each other's
spaces, the city co-hosts its budget with the town, and the collective's proposal is shared into
the city's budget. The data each node starts with is node.demo's."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.demo import BUDGET, DemoNode

# Written by Núria, a resident of the town, from her own node (in her language).
DEMO_REMOTE_COMMENT = ("Des del poble també hi passem cada dia: una bona idea, i més si arriba fins a "
                       "l'estació.")
DEMO_REMOTE_PROPOSAL = {
    "title": "Un carril bici segur fins al poble veí",
    "body": "Un carril bici separat de la carretera entre la ciutat i el poble, il·luminat de nit, "
            "perquè els joves puguin anar a l'institut i a l'estació sense cotxe.",
}


@dataclass
class RunningDemoNode:
    spec: DemoNode
    settings: Any  # node.config.Settings, base_url set to where it listens
    app: Any  # its aiohttp web.Application, started


async def federate_demo(nodes: dict[str, RunningDemoNode]) -> None:
    """Make the demo nodes know each other; `nodes` maps DemoNode.key to the running node.

    `civicnode demo` calls this once all three apps are listening (each can fetch the others'
    actors over HTTP), the first time the demo starts; it then writes `federated` in the data
    directory and never calls it again. Work done here is safe to repeat (following a space one
    already follows changes nothing), since a crash between it and that marker runs it again.

    Residents follow each other's spaces through the real protocol (WebFinger, Follow, Accept,
    the Group's outbox), so that the demo shows federation from its first page: the town's and
    the collective's residents read the city's budget on their own node, and a city resident
    follows the town's seafront consultation."""
    from sqlalchemy import select

    from node.accounts.models import User
    from node.activitypub.mirror import follow_space
    from node.appkeys import DB

    follows = (("town", "nuria", "city"), ("collective", "lucie", "city"), ("city", "jordi", "town"))
    for home, username, other in follows:
        if home not in nodes or other not in nodes:
            continue
        app = nodes[home].app
        async with app[DB]() as db:
            user = await db.scalar(select(User).where(User.username == username))
        host = nodes[other].settings.base_url.split("://", 1)[1]
        await follow_space(app, user, f"{nodes[other].spec.space}@{host}")
    if "city" in nodes and "town" in nodes:
        await _cohost_budget(nodes["city"].app, nodes["town"].app, nodes["town"].settings.base_url)
    if "city" in nodes and "collective" in nodes:
        await _share_into_budget(nodes["collective"].app, nodes["city"].app, nodes["city"].settings.base_url)


async def _share_into_budget(collective, city, city_url: str) -> None:
    """Samir's proposal to map the dangerous crossings, written on the collective's node, is
    proposed to the city's budget and accepted by the city's administrators."""
    from sqlalchemy import select

    from node.accounts.models import User
    from node.appkeys import DB
    from node.cohosting import shared
    from node.cohosting.models import ProposalOffer, ProposalShare
    from node.components.proposals.models import Proposal
    from node.spaces.models import Component, Space

    async with collective[DB]() as db:
        samir = await db.scalar(select(User).where(User.username == "samir"))
        proposal_id = await db.scalar(select(Proposal.id).where(Proposal.author_id == samir.id).order_by(Proposal.id))
    host = city_url.split("://", 1)[1]
    sent = await shared.offer(collective, samir, proposal_id, f"{BUDGET['slug']}@{host}")
    offer_id = await _until(city, select(ProposalOffer.id).where(ProposalOffer.state == "pending"), "The offer")
    async with city[DB]() as db:
        admin = await db.scalar(select(User).where(User.username == "admin"))
        component_id = await db.scalar(select(Component.id).join(Space, Space.id == Component.space_id)
                                       .where(Space.slug == BUDGET["slug"], Component.kind == "proposals"))
    await shared.answer_offer(city, admin, offer_id, True, component_id)
    await _until(collective, select(ProposalShare.id).where(ProposalShare.id == sent.id,
                                                             ProposalShare.state == "accepted"),
                 "The city's acceptance of the collective's proposal")


async def _until(app, query, what: str):
    """The first row of ``query`` on ``app``'s database once another node's activity created it
    (deliveries run in the background), within 90 seconds (a loaded machine is slow)."""
    import asyncio

    from node.appkeys import DB

    for _ in range(900):
        async with app[DB]() as db:
            found = await db.scalar(query)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not arrive within 90 seconds")


async def _cohost_budget(city, town, town_url: str) -> None:
    """The city's budget becomes a consultation co-hosted with the town, through the real
    protocol: the city invites the town (residents verified by census or at the town hall's desk),
    the town accepts, and Núria, verified in person at the town hall, supports a city proposal from
    her own node, comments on it and writes a proposal of her own (each answered by the city)."""
    from sqlalchemy import select

    from node.accounts.models import User
    from node.activitypub.follow_models import RemoteItem
    from node.appkeys import DB
    from node.cohosting import home, partners
    from node.cohosting.models import OutgoingParticipation, Partnership, SpacePartner
    from node.components.proposals.models import Proposal
    from node.spaces.models import Space

    async with city[DB].begin() as db:
        space = await db.scalar(select(Space).where(Space.slug == BUDGET["slug"]))
        space.federation_policy = "partners"
        city_admin = await db.scalar(select(User).where(User.username == "admin"))
        first = await db.scalar(select(Proposal.id).where(Proposal.space_id == space.id).order_by(Proposal.id))
    await partners.invite(city, city_admin, space.id, town_url, ["census", "manual"])
    invited = await _until(town, select(Partnership.id).where(Partnership.state == "invited"), "The invitation")
    async with town[DB]() as db:
        town_admin = await db.scalar(select(User).where(User.username == "ajuntament"))
        nuria = await db.scalar(select(User).where(User.username == "nuria"))
    await partners.accept(town, town_admin, invited)
    await _until(city, select(SpacePartner.id).where(SpacePartner.state == "active"), "The town's acceptance")
    item = await _until(town, select(RemoteItem).where(RemoteItem.uri.endswith(f"/proposals/{first}")),
                        "The city's proposals")
    sent = await home.participate(town, nuria, item.remote_space_id, item.id, "support")
    await _until(town, select(OutgoingParticipation.id).where(OutgoingParticipation.id == sent.id,
                                                              OutgoingParticipation.answer == "accepted"),
                 "The city's answer to Núria's support")
    await _remote_words(town, nuria, item)


async def _remote_words(town, nuria, item) -> None:
    """Núria also comments on that proposal and writes one of her own into the city's budget,
    from her node: both appear on the city's pages as "Núria Vidal (the town's host)"."""
    from sqlalchemy import select

    from node.cohosting.comments_home import send_comment
    from node.cohosting.models import OutgoingParticipation
    from node.cohosting.proposals_home import send_proposal

    said = await send_comment(town, nuria, item.remote_space_id, item.id, alignment="in_favor",
                              body=DEMO_REMOTE_COMMENT)
    wrote = await send_proposal(town, nuria, item.remote_space_id, title=DEMO_REMOTE_PROPOSAL["title"],
                                body=DEMO_REMOTE_PROPOSAL["body"])
    for sent, what in ((said, "Núria's comment"), (wrote, "Núria's proposal")):
        answered = await _until(town, select(OutgoingParticipation).where(OutgoingParticipation.id == sent.id,
                                                                          OutgoingParticipation.answer != "pending"),
                                f"The city's answer to {what}")
        if answered.answer != "accepted":  # a refusal would only show up as a missing item
            raise RuntimeError(f"The city refused {what}: {answered.reason} {answered.reason_text or ''}")
