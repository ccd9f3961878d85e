"""Every proposal, debate and comment action records the event notifications will read (who
acted, in which space, about what, and whose it is), in the transaction of the action itself."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from node.appkeys import DB
from node.components.comments.service import create_comment
from node.components.debates.service import close_debate, comment_target as debate_target, create_debate, update_debate
from node.components.proposals.amendments import decide_amendment, propose_amendment
from node.components.proposals.comments import load_proposal_target
from node.components.proposals.models import Proposal
from node.components.proposals.service import (
    ProposalError, answer_proposal, create_proposal, edit_proposal, withdraw_proposal,
)
from node.events import Event
from node.spaces.models import Component
from node.spaces.service import add_component
from tests.proposals_fixtures import BODY, space_with_component
from tests.spaces_support import count, make_user

BASE = "https://node.example"


async def events(app, kind: str | None = None) -> list[Event]:
    async with app[DB]() as db:
        query = select(Event).order_by(Event.id)
        if kind:
            query = query.where(Event.kind == kind)
        return list((await db.scalars(query)).all())


async def setup_proposal(app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    async with app[DB].begin() as db:
        proposal = await create_proposal(db, space=space, component=component, author=author,
                                         values={"title": "Plant trees on the market square", "body": BODY},
                                         base_url=BASE)
    return space, component, author, proposal


def about(event: Event, proposal, kind: str, actor) -> None:
    assert event.kind == kind and event.subject_type == "proposal" and event.subject_id == proposal.id
    assert event.actor_id == actor.id and event.space_id == proposal.space_id
    assert event.data["author_id"] == proposal.author_id and event.data["component_id"] == proposal.component_id


async def test_publishing_a_proposal_records_it_in_the_same_transaction(app):
    space, component, author, proposal = await setup_proposal(app)
    [created] = await events(app)
    about(created, proposal, "proposal.created", author)
    assert created.data["version"] == 1
    # Rolled back together: no event about a proposal that does not exist, and the reverse.
    with pytest.raises(RuntimeError):
        async with app[DB].begin() as db:
            await create_proposal(db, space=space, component=component, author=author, base_url=BASE,
                                  values={"title": "Another proposal about trees", "body": BODY})
            raise RuntimeError("the request failed after the proposal was written")
    assert await count(app, Proposal) == 1 and await count(app, Event) == 1
    # Refused: nothing recorded.
    async with app[DB].begin() as db:
        with pytest.raises(ProposalError):
            await create_proposal(db, space=space, component=component, author=author, base_url=BASE,
                                  values={"title": "Short", "body": BODY})
    assert await count(app, Event) == 1


async def test_edit_withdraw_and_answer(app):
    space, component, author, proposal = await setup_proposal(app)
    admin = await make_user(app, "alice_admin", role="admin")
    async with app[DB].begin() as db:
        row = await db.get(Proposal, proposal.id)
        await edit_proposal(db, row, space=space, component=component, user=author, base_url=BASE,
                            values={"title": "Plant trees and benches on the square", "body": BODY})
        # Saving the same text again publishes nothing and tells nobody.
        await edit_proposal(db, row, space=space, component=component, user=author, base_url=BASE,
                            values={"title": "Plant trees and benches on the square", "body": BODY})
        await answer_proposal(db, row, user=admin, state="evaluating", answer="We are looking at it.")
        await withdraw_proposal(db, row, user=author)
    created, edited, answered, withdrawn = await events(app)
    about(edited, proposal, "proposal.edited", author)
    assert edited.data["version"] == 2
    about(answered, proposal, "proposal.answered", admin)
    assert answered.data["state"] == "evaluating" and answered.data["previous"] == "not_answered"
    assert answered.data["answer"] == "We are looking at it."
    about(withdrawn, proposal, "proposal.withdrawn", author)
    assert withdrawn.data["previous"] == "evaluating"


async def test_amendments_proposed_accepted_and_rejected(app):
    space, component, author, proposal = await setup_proposal(app)
    amender = await make_user(app, "jordi")
    async with app[DB].begin() as db:
        row = await db.get(Proposal, proposal.id)
        component_row = await db.get(Component, component.id)
        first = await propose_amendment(db, row, component=component_row, user=amender,
                                        values={"title": "Plant trees everywhere in town", "body": BODY})
        second = await propose_amendment(db, row, component=component_row, user=amender,
                                         values={"title": "Plant flowers on the market square", "body": BODY})
        await decide_amendment(db, first, row, space=space, user=author, accept=True, base_url=BASE)
        await decide_amendment(db, second, row, space=space, user=author, accept=False, base_url=BASE)
    _created, proposed, _again, accepted, rejected = await events(app)
    about(proposed, proposal, "proposal.amendment_proposed", amender)
    assert proposed.data["amendment_id"] == first.id and proposed.data["amender_id"] == amender.id
    about(accepted, proposal, "proposal.amended", author)
    assert accepted.data["amender_id"] == amender.id and accepted.data["version"] == 2
    about(rejected, proposal, "proposal.amendment_rejected", author)
    assert rejected.data["amendment_id"] == second.id


async def test_comments_on_proposals(app):
    space, component, author, proposal = await setup_proposal(app)
    commenter = await make_user(app, "jordi")
    async with app[DB].begin() as db:
        target = await load_proposal_target(db, proposal.id)
        first = await create_comment(db, target, commentable_type="proposal", commentable_id=proposal.id,
                                     author=commenter, body="Yes please.", alignment="in_favor")
        reply = await create_comment(db, target, commentable_type="proposal", commentable_id=proposal.id,
                                     author=author, body="Thanks!", parent_id=first.id)
    created = await events(app, "comment.created")
    assert [(e.subject_id, e.actor_id, e.space_id) for e in created] == [
        (first.id, commenter.id, space.id), (reply.id, author.id, space.id)]
    assert created[1].data == {"commentable_type": "proposal", "commentable_id": proposal.id,
                               "parent_id": first.id}


async def test_debates_created_edited_closed_and_commented(app):
    space, _component, _ = await space_with_component(app)
    resident = await make_user(app, "noor")
    commenter = await make_user(app, "sam")
    async with app[DB].begin() as db:
        component = await add_component(db, space, "debates", {"name": {"en": "Debates"},
                                                                "settings": {"users_can_create": True}})
        official = await create_debate(db, component, {"title": {"en": "Should the market move?"}}, language="en")
        debate = await create_debate(db, component, {"title": {"en": "More shade"}, "description": {"en": "Trees?"}},
                                     author=resident, language="en")
        await update_debate(db, debate, {"title": {"en": "More shade in summer"}, "description": {"en": "Trees?"}},
                            language="en", actor_id=resident.id)
        await create_comment(db, debate_target(official, component, space), commentable_type="debate",
                             commentable_id=official.id, author=commenter, body="Keep it where it is.")
        await close_debate(db, debate, {"en": "Trees, mostly."}, actor_id=resident.id, language="en")
        # Correcting the conclusion is not a second closing.
        await close_debate(db, debate, {"en": "Trees and awnings."}, actor_id=resident.id, language="en")
    kinds = [(e.kind, e.subject_id, e.actor_id) for e in await events(app)]
    assert kinds == [("debate.created", official.id, None), ("debate.created", debate.id, resident.id),
                     ("debate.edited", debate.id, resident.id), ("comment.created", kinds[3][1], commenter.id),
                     ("debate.closed", debate.id, resident.id)]
    for event in await events(app):
        assert event.space_id == space.id
        if event.subject_type == "debate":
            assert event.data["component_id"] == component.id
            assert event.data["author_id"] == (resident.id if event.subject_id == debate.id else None)
