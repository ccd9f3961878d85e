"""Proposals as commentables: the comments package asks this loader what a proposal allows."""
from __future__ import annotations

from sqlalchemy import select, update

from node.components.comments import CommentTarget
from node.components.proposals.models import Proposal
from node.i18n import N_
from node.spaces.models import Component, Space


def comment_target(proposal: Proposal, component: Component, space: Space) -> CommentTarget:
    async def bump(db, delta: int) -> None:
        await db.execute(update(Proposal).where(Proposal.id == proposal.id)
                         .values(comments_count=Proposal.comments_count + delta)
                         .execution_options(synchronize_session=False))

    return CommentTarget(
        space_id=proposal.space_id, component_id=proposal.component_id,
        url=f"/spaces/{space.slug}/proposals/{proposal.id}",
        is_open=proposal.state != "withdrawn",
        closed_message=N_("This proposal was withdrawn: comments are closed."),
        supports_alignment=True, published=space.published and component.published,
        count_changed=bump, title=proposal.title)


async def load_proposal_target(db, proposal_id: int) -> CommentTarget | None:
    row = (await db.execute(
        select(Proposal, Component, Space).join(Component, Component.id == Proposal.component_id)
        .join(Space, Space.id == Proposal.space_id).where(Proposal.id == proposal_id))).first()
    return comment_target(*row) if row else None
