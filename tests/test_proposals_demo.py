"""The demo's proposals: supports, an answer, an accepted amendment, a withdrawal."""
from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from node.appkeys import DB
from node.components.proposals.models import Amendment, Proposal, ProposalVersion, Support
from node.spaces.models import Component
from tests.test_demo import seeded


async def test_demo_proposals(web, app):
    await seeded(app)
    async with app[DB]() as db:
        proposals = (await db.scalars(select(Proposal).order_by(Proposal.id))).all()
        component = await db.scalar(select(Component).where(Component.kind == "proposals"))
        versions = (await db.scalars(select(ProposalVersion))).all()
        supports = await db.scalar(select(func.count()).select_from(Support))
        amendment = await db.scalar(select(Amendment))
    assert len(proposals) == 8 and supports == sum(p.support_count for p in proposals) > 5
    assert sorted(p.state for p in proposals).count("withdrawn") == 1
    assert "accepted" in {p.state for p in proposals} and amendment.state == "accepted"
    assert max(p.version_number for p in proposals) == 2
    assert all(hashlib.sha256(v.canonical_json.encode()).hexdigest() == v.fingerprint for v in versions)
    listing = await web.get(f"/spaces/budget-participatif-2027/c/{component.id}")
    assert listing.status == 200 and "Un jardin partagé et un verger rue des Tilleuls" in listing.text
    page = await web.get(f"/spaces/budget-participatif-2027/proposals/{proposals[0].id}/versions")
    assert page.status == 200 and "Jordi Puig" in page.text


async def test_comments_on_a_proposal_are_counted_and_shown(web, app):
    from tests.spaces_support import log_in
    from tests.proposals_fixtures import make_proposal, proposal_path, space_with_component

    space, component, _ = await space_with_component(app)
    author = await log_in(web, app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    path = proposal_path(space, proposal.id)
    page = await web.post("/comments", {"commentable_type": "proposal", "commentable_id": str(proposal.id),
                                        "body": "Yes, and <script>x</script> benches too.",
                                        "alignment": "in_favor"}, csrf_from_path=path)
    assert page.status == 200 and "benches too" in page.text and "<script>x" not in page.text
    async with app[DB]() as db:
        assert (await db.get(Proposal, proposal.id)).comments_count == 1
    listing = await web.get(f"/spaces/{space.slug}/c/{component.id}")
    assert "1 comment" in listing.text
