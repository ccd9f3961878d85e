"""What the space Group announces about proposals: Create when one is published, Update when its
text (a new version), state or answer changes.  A withdrawn proposal stays visible with its state,
as on its page, so withdrawal is an Update too."""
from __future__ import annotations

from sqlalchemy import and_, select

from node.accounts.models import User
from node.activitypub.follows import Position, after_position, register_snapshot
from node.components.comments import publish as _comments  # noqa: F401  (its comments federate too)
from node.activitypub.publisher import Publication, PublishContext, register_publisher
from node.cohosting.models import RemoteParticipant
from node.components.proposals.activities import proposal_to_article
from node.components.proposals.models import Proposal, ProposalVersion
from node.moderation.visibility import not_hidden
from node.components.proposals.settings import counts_visible, settings_of
from node.spaces.models import Component, Phase, Space

CREATED = ("proposal.created",)
UPDATED = ("proposal.edited", "proposal.answered", "proposal.withdrawn", "proposal.amended",
           "proposal.state_changed")


def _query():
    # A partner node's resident's proposal (node.cohosting.proposals_host) is attributed to their
    # own actor; the Create around it is the Group's, as for their comments.
    return (select(Proposal, ProposalVersion, User.username, Space, Component, RemoteParticipant.actor_uri)
            .join(ProposalVersion, and_(ProposalVersion.proposal_id == Proposal.id,
                                        ProposalVersion.number == Proposal.version_number))
            .outerjoin(User, User.id == Proposal.author_id)
            .outerjoin(RemoteParticipant, RemoteParticipant.id == Proposal.remote_participant_id)
            .join(Space, Space.id == Proposal.space_id)
            .join(Component, Component.id == Proposal.component_id)
            .where(Space.published.is_(True), Component.published.is_(True)))


async def _counts_shown(db, space: Space, component: Component) -> bool:
    phase_id = await db.scalar(select(Phase.id).where(Phase.space_id == space.id, Phase.active.is_(True)))
    return counts_visible(settings_of(component), phase_id, None)


def _publication(kind: str, row, ctx: PublishContext, shown: bool) -> Publication:
    proposal, version, username, space, _component, remote_actor = row
    article = proposal_to_article(proposal, version, base_url=ctx.base_url, space_slug=space.slug,
                                  author_username=username, locale=ctx.locale, counts_visible=shown,
                                  author_uri=remote_actor)
    if proposal.origin_uri:
        # A proposal shared from another node says where it comes from, so that a mirror's
        # reports reach that node too (node.moderation.federation), as the copy's Updates do.
        article["context"] = proposal.origin_uri
    return Publication(kind, article, space.id, space.slug, proposal.author_id if username else None, username)


async def build(db, event, ctx: PublishContext) -> Publication | None:
    row = (await db.execute(_query().where(Proposal.id == event.subject_id))).first()
    if row is None:
        return None  # unpublished: nothing leaves the node
    kind = "Create" if event.kind in CREATED else "Update"
    return _publication(kind, row, ctx, await _counts_shown(db, row[3], row[4]))


async def snapshot(db, space: Space, ctx: PublishContext, position, limit: int):
    query = (_query().where(Proposal.space_id == space.id, not_hidden("proposal", Proposal.id),
                            after_position(Proposal.created_at, Proposal.id, "proposal", position))
             .order_by(Proposal.created_at.desc(), Proposal.id.desc()).limit(limit))
    rows = (await db.execute(query)).all()
    shown: dict[int, bool] = {}
    out = []
    for row in rows:
        component = row[4]
        if component.id not in shown:
            shown[component.id] = await _counts_shown(db, space, component)
        position = Position(row[0].created_at, "proposal", row[0].id)
        out.append((position, _publication("Create", row, ctx, shown[component.id])))
    return out


register_publisher(CREATED + UPDATED, build)
register_snapshot(snapshot)
