"""Shared proposals: a proposal of the collective proposed into the city's budget, over real HTTP,
SQLite and PostgreSQL. The city's administrators accept it; it appears among the city's proposals
marked with its origin; the city's residents support it there and the collective's page shows the
support it gathered; the collective's edits and withdrawal reach the city's copy."""
from __future__ import annotations

import re

from sqlalchemy import select

from node.appkeys import DB
from node.cohosting.models import ProposalOffer, ProposalShare
from node.components.proposals.models import Proposal, ProposalVersion
from node.components.proposals.service import edit_proposal, withdraw_proposal
from node.spaces.models import Component, Space
from tests.nodes import running_nodes
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_following import settle


async def share_row(node, proposal_id: int) -> ProposalShare:
    async with node.db() as db:
        return await db.scalar(select(ProposalShare).where(ProposalShare.proposal_id == proposal_id))


async def test_a_collective_proposal_shared_into_the_city_budget(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "collective"], database_url_for=database_url_for) as nodes:
        city, collective = nodes["city"], nodes["collective"]
        budget, budget_proposals, _ = await space_with_component(city.app, "budget-2027")
        async with city.app[DB].begin() as db:
            (await db.get(Space, budget.id)).federation_policy = "partners"
        await make_user(city.app, "mayor", role="admin")
        await make_user(city.app, "bernat")
        assembly, assembly_proposals, _ = await space_with_component(collective.app, "assembly",
                                                                     edit_window_minutes=60)
        lucie = await make_user(collective.app, "lucie")
        await make_user(collective.app, "samir")
        proposal = await make_proposal(collective.app, assembly, assembly_proposals, lucie,
                                       title="Secure bike parking at every school", body="Covered, **locked**.")
        page_path = f"/spaces/assembly/proposals/{proposal.id}"

        # Only the author (or an administrator) may propose it elsewhere.
        await collective.client.login("samir", PASSWORD)
        page = await collective.client.get(page_path)
        assert not page.has("Propose it to a space of another node")
        refused = await collective.client.post(f"{page_path}/share", {"address": f"budget-2027@{city.host}"},
                                               csrf_from_path=page_path)
        assert refused.status == 403
        await collective.client.login("lucie", PASSWORD)
        page = await collective.client.post(f"{page_path}/share", {"address": f"budget-2027@{city.host}"},
                                            csrf_from_path=page_path)
        assert page.status == 200 and page.has("its administrators will accept or refuse it")
        again = await collective.client.post(f"{page_path}/share", {"address": f"budget-2027@{city.host}"},
                                             csrf_from_path=page_path)
        assert again.status == 409
        await settle(collective, city)

        # The city's administrators see the offer and accept it into the budget's proposals.
        await city.client.login("mayor", PASSWORD)
        offers_path = f"/admin/spaces/{budget.id}/offers"
        page = await city.client.get(offers_path)
        assert page.has("Secure bike parking at every school") and page.has(collective.host)
        async with city.db() as db:
            offer = await db.scalar(select(ProposalOffer))
        page = await city.client.post(offers_path, {"offer_id": str(offer.id), "action": "accept",
                                                    "component_id": str(budget_proposals.id)},
                                      csrf_from_path=offers_path)
        assert page.has("accepted into this space")
        await settle(city, collective)
        async with city.db() as db:
            copy = await db.scalar(select(Proposal).where(Proposal.origin_uri.is_not(None)))
            version = await db.scalar(select(ProposalVersion).where(ProposalVersion.proposal_id == copy.id))
        origin = f"{collective.base_url}{page_path}"
        assert copy.origin_uri == origin and copy.author_id is None and copy.body == "Covered, **locked**."
        assert f'"author":"{collective.base_url}/users/lucie"' in version.canonical_json
        share = await share_row(collective, proposal.id)
        assert share.state == "accepted"
        assert share.remote_proposal_uri == f"{city.base_url}/spaces/budget-2027/proposals/{copy.id}"

        # Marked with its origin on the city; a city resident supports it; the count goes back.
        copy_path = f"/spaces/budget-2027/proposals/{copy.id}"
        await city.client.login("bernat", PASSWORD)
        page = await city.client.get(copy_path)
        assert page.has("Proposal from another node") and page.has(origin)
        # Its card in the list says where it comes from too; the city's own proposals' do not.
        listing = await city.client.get(f"/spaces/budget-2027/c/{copy.component_id}")
        cards = re.findall(r'<li class="card">.*?</li>', listing.text, re.S)
        assert [card for card in cards if f"from {collective.host}" in card] == \
            [card for card in cards if f'href="{copy_path}"' in card] != []
        supported = await city.client.post(f"{copy_path}/support", {}, csrf_from_path=copy_path)
        assert supported.status == 200, supported.text[:500]
        await settle(city, collective)
        share = await share_row(collective, proposal.id)
        assert (share.remote_support_count, share.remote_state) == (1, "not_answered")
        page = await collective.client.get(page_path)
        assert page.has("Proposed to other nodes") and page.has("1 support there")

        # A report on the city's copy stays with the city's moderators and goes to the origin (Flag).
        report_path = f"/report?subject_type=proposal&subject_id={copy.id}"
        page = await city.client.get(report_path)
        assert page.has(f"published by {collective.host}")
        page = await city.client.post("/report", {"subject_type": "proposal", "subject_id": str(copy.id),
                                                  "reason": "does_not_belong", "details": "Not a budget item"},
                                      csrf_from_path=report_path)
        assert page.status == 200
        await settle(city, collective)
        from node.moderation.models import Moderation, Report
        async with collective.db() as db:
            flagged = (await db.execute(select(Moderation.subject_type, Moderation.subject_id, Report.reporter_node,
                                               Report.reason).join(Report, Report.moderation_id == Moderation.id)
                                        )).all()
        assert flagged == [("proposal", proposal.id, f"{city.base_url}/actor", "does_not_belong")]
        async with city.db() as db:
            assert (await db.scalar(select(Moderation.subject_id))) == copy.id  # the city's own queue too

        # The author edits it on the collective: the city's copy gets a new version.
        async with collective.app[DB].begin() as db:
            component = await db.get(Component, assembly_proposals.id)
            await edit_proposal(db, await db.get(Proposal, proposal.id), space=assembly, component=component,
                                user=lucie, values={"title": "Secure bike parking at every school",
                                                    "body": "Covered, **locked**, and lit."},
                                base_url=collective.base_url)
        await settle(collective, city)
        async with city.db() as db:
            copy = await db.get(Proposal, copy.id)
        assert copy.version_number == 2 and copy.body == "Covered, **locked**, and lit."

        # ... and withdraws it: the copy is withdrawn too (its supports stay, frozen).
        async with collective.app[DB].begin() as db:
            await withdraw_proposal(db, await db.get(Proposal, proposal.id), user=lucie)
        await settle(collective, city)
        async with city.db() as db:
            copy = await db.get(Proposal, copy.id)
        assert copy.state == "withdrawn" and copy.support_count == 1


async def test_offers_refused_by_the_administrators_or_by_the_space_policy(tmp_path, database_url_for):
    async with running_nodes(tmp_path, ["city", "collective"], database_url_for=database_url_for) as nodes:
        city, collective = nodes["city"], nodes["collective"]
        budget, _, _ = await space_with_component(city.app, "budget-2027")
        async with city.app[DB].begin() as db:
            (await db.get(Space, budget.id)).federation_policy = "open"
        await space_with_component(city.app, "council")  # local: takes no proposal from elsewhere
        await make_user(city.app, "mayor", role="admin")
        assembly, component, _ = await space_with_component(collective.app, "assembly")
        lucie = await make_user(collective.app, "lucie")
        first = await make_proposal(collective.app, assembly, component, lucie, title="A repair café")
        second = await make_proposal(collective.app, assembly, component, lucie, title="Night buses")
        await collective.client.login("lucie", PASSWORD)
        for proposal, target in ((first, "budget-2027"), (second, "council")):
            path = f"/spaces/assembly/proposals/{proposal.id}"
            await collective.client.post(f"{path}/share", {"address": f"{target}@{city.host}"}, csrf_from_path=path)
        await settle(collective, city)
        assert (await share_row(collective, second.id)).state == "refused"  # the council is local

        await city.client.login("mayor", PASSWORD)
        offers_path = f"/admin/spaces/{budget.id}/offers"
        async with city.db() as db:
            offer = await db.scalar(select(ProposalOffer).where(ProposalOffer.space_id == budget.id))
        # Accepting needs a proposals component of this space: a wrong one is refused, nothing created.
        page = await city.client.post(offers_path, {"offer_id": str(offer.id), "action": "accept",
                                                    "component_id": "999999"}, csrf_from_path=offers_path)
        assert page.status == 422 and page.has("Choose the proposals component")
        page = await city.client.post(offers_path, {"offer_id": str(offer.id), "action": "refuse"},
                                      csrf_from_path=offers_path)
        assert page.has("The offer was refused")
        again = await city.client.post(offers_path, {"offer_id": str(offer.id), "action": "accept"},
                                       csrf_from_path=offers_path)
        assert again.status == 409
        await settle(city, collective)
        assert (await share_row(collective, first.id)).state == "refused"
        async with city.db() as db:
            assert await db.scalar(select(Proposal.id).where(Proposal.origin_uri.is_not(None))) is None
