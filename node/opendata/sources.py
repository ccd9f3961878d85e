"""What an export holds: the public JSON API's own objects (built by the API's serialisers, from
the API's queries) for the published spaces in scope, read in keyset batches.

Each batch is one short session: a slow download never keeps a transaction open (which on
PostgreSQL would hold back vacuum), and memory stays at one batch whatever the size of the node.
Rows come in id order, as in the API, never in an order that depends on a hidden support count.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from node.api.views import space_json
from node.components.comments.api import comment_json, comment_query
from node.components.comments.models import Comment
# The API's own query and visibility policy, so that an export never shows more than the API.
from node.components.debates.api import _query as debates_query
from node.components.debates.api import debate_json
from node.components.debates.models import Debate
from node.components.debates.service import debate_path
from node.components.proposals.activities import proposal_url
from node.components.proposals.api import _base_query as proposals_query
from node.components.proposals.api import _visibility as proposal_counts_visible
from node.components.proposals.api import proposal_json, version_json
from node.components.proposals.models import Proposal, ProposalVersion
from node.groups.acting import group_json
from node.moderation.visibility import not_hidden
from node.spaces.models import Component, Space

BATCH = 500

# Page of each commentable type, as its comment loader names it (CommentTarget.url), built here
# from the row so that exporting comments costs no query per commentable.
COMMENT_PAGES = {
    "proposal": lambda space, component_id, item_id: proposal_url("", space.slug, item_id),
    "debate": lambda space, component_id, item_id: debate_path(space.slug, component_id, item_id),
}


@dataclass
class Scope:
    """The published spaces an export covers (one, or every one of the node)."""

    base_url: str
    space_slug: str | None
    spaces: list[Space]
    # Published components of those spaces, by id, with their space.
    components: dict[int, tuple[Space, Component]] = field(default_factory=dict)
    # Proposals components: may anonymous readers see the support counts right now?
    counts_shown: dict[int, bool] = field(default_factory=dict)

    @property
    def space_ids(self) -> list[int]:
        return [space.id for space in self.spaces]


async def load_scope(sessionmaker, base_url: str, slug: str | None = None) -> Scope | None:
    """The scope of an export; None when `slug` names no published space."""
    async with sessionmaker() as db:
        query = (select(Space).where(Space.published.is_(True)).order_by(Space.id)
                 .options(selectinload(Space.phases), selectinload(Space.components)))
        if slug is not None:
            query = query.where(Space.slug == slug)
        spaces = list((await db.scalars(query)).all())
        if slug is not None and not spaces:
            return None
        scope = Scope(base_url=base_url, space_slug=slug, spaces=spaces)
        for space in spaces:
            scope.components.update({c.id: (space, c) for c in space.components if c.published})
            # Decided once, at the start: every row of the export follows the same policy.
            scope.counts_shown.update(await proposal_counts_visible(db, space))
    return scope


async def _keyset(sessionmaker, query, key, enrich=None) -> AsyncIterator[tuple]:
    """Rows of `query` in `key` order, BATCH at a time; `enrich(db, rows)` may load what the
    rows of one batch need (one query per batch, never one per row)."""
    last = 0
    while True:
        async with sessionmaker() as db:
            rows = (await db.execute(query.where(key > last).order_by(key).limit(BATCH))).all()
            extra = await enrich(db, rows) if enrich and rows else None
        for row in rows:
            yield row, extra
        if len(rows) < BATCH:
            return
        last = rows[-1][0].id


async def spaces(sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    for space in scope.spaces:
        yield space_json(space, scope.base_url)


async def _versions_of(db, rows) -> dict[int, list[ProposalVersion]]:
    found: dict[int, list[ProposalVersion]] = {}
    query = (select(ProposalVersion).where(ProposalVersion.proposal_id.in_([row[0].id for row in rows]))
             .order_by(ProposalVersion.proposal_id, ProposalVersion.number))
    for version in await db.scalars(query):
        found.setdefault(version.proposal_id, []).append(version)
    return found


async def proposals(sessionmaker, scope: Scope, *, with_versions: bool = True) -> AsyncIterator[dict]:
    """As GET /api/proposals/{id} (with its versions), or as the list endpoint's items."""
    from node.activitypub.outbox import host_of
    from node.cohosting.counts import informal_counts, supports_by_origin

    if not scope.spaces:
        return
    by_id = {space.id: space for space in scope.spaces}
    query = proposals_query().where(Proposal.space_id.in_(scope.space_ids))
    local_host = host_of(scope.base_url)

    async def enrich(db, rows):
        # The counts per home node, as the API gives them: one query a batch for each.
        shown = [row[0].id for row in rows if scope.counts_shown.get(row[0].component_id, False)]
        return (await _versions_of(db, rows) if with_versions else {},
                await supports_by_origin(db, shown, local_host), await informal_counts(db, shown))

    async for (proposal, author, version, group, remote), (versions, origins, informal) in _keyset(
            sessionmaker, query, Proposal.id, enrich):
        item = proposal_json(proposal, author, version, by_id[proposal.space_id], scope.base_url,
                             scope.counts_shown.get(proposal.component_id, False), group,
                             origins.get(proposal.id), informal.get(proposal.id, 0), remote)
        if with_versions:
            item["versions"] = [version_json(v) for v in versions.get(proposal.id, [])]
        yield item


async def proposal_versions(sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    """Every published text of every proposal in scope, each with its proposal's id."""
    if not scope.components:
        return
    query = (select(ProposalVersion).join(Proposal, Proposal.id == ProposalVersion.proposal_id)
             .where(Proposal.component_id.in_(list(scope.components))))
    async for (version,), _ in _keyset(sessionmaker, query, ProposalVersion.id):
        yield {"proposal_id": version.proposal_id, **version_json(version)}


async def debates(sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    if not scope.spaces:
        return
    query = debates_query().where(Debate.space_id.in_(scope.space_ids))
    async for row, _ in _keyset(sessionmaker, query, Debate.id):
        yield debate_json(*row, scope.base_url)


async def comments(sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    """Comments on the proposals and debates of published components, as GET /api/comments."""
    if not scope.components:
        return
    query = comment_query().where(Comment.component_id.in_(list(scope.components)),
                                  Comment.commentable_type.in_(list(COMMENT_PAGES)), not_hidden("comment", Comment.id))
    async for (comment, username, nickname, group_nickname, group_name, *remote), _ in _keyset(
            sessionmaker, query, Comment.id):
        space, _component = scope.components[comment.component_id]
        page = COMMENT_PAGES[comment.commentable_type](space, comment.component_id, comment.commentable_id)
        yield comment_json(comment, username, nickname, scope.base_url, page,
                           group=group_json(group_nickname, group_name), remote=tuple(remote))


async def budgets(sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    """Participatory budgets as GET /api/budgets/{id}, with their projects (votes and selected
    projects only once a budget's results are published, as in the API)."""
    from node.components.budgets.api import budget_json, visible_query
    from node.components.budgets.models import Budget

    if not scope.components:
        return
    query = visible_query().where(Budget.component_id.in_(list(scope.components)))

    async def enrich(db, rows):
        # Counted in the batch's session: a budget's results need its ballots.
        return {budget.id: await budget_json(db, scope.base_url, budget, component, space, with_projects=True)
                for budget, component, space in rows}

    async for (budget, _component, _space), items in _keyset(sessionmaker, query, Budget.id, enrich):
        yield items[budget.id]


async def budget_projects(sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    """Every project of every budget in scope, each with its budget's id."""
    async for budget in budgets(sessionmaker, scope):
        for project in budget["projects"]:
            yield {"budget_id": budget["id"], **project}
