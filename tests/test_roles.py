"""Space roles: administrators make a member the evaluator of a space; an evaluator answers the
proposals of that space only, and sees nothing else of the admin area."""
from __future__ import annotations

from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB
from node.components.proposals.models import Proposal
from node.events import Event
from node.spaces.models import Space, SpaceRole
from tests.proposals_fixtures import make_proposal, proposal_path, space_with_component
from tests.spaces_support import admin_web, count, log_in, make_user  # noqa: F401  (fixture)
from tests.test_comments import second_browser

REFUSED = "Only administrators and the evaluators of this space can answer its proposals."


async def grant(admin, space, username: str, role: str = "evaluator"):
    page = f"/admin/spaces/{space.id}"
    return await admin.post(f"{page}/roles", {"username": username, "role": role}, csrf_from_path=page)


async def answer(client, space, proposal, state: str = "accepted", text: str = "The town will do it."):
    path = proposal_path(space, proposal.id)
    return await client.post(path + "/answer", {"state": state, "answer": text}, csrf_from_path=path)


async def two_spaces(app):
    space_a, component_a, _ = await space_with_component(app, "space-a")
    space_b, component_b, _ = await space_with_component(app, "space-b")
    author = await make_user(app, "amelie")
    return (space_a, await make_proposal(app, space_a, component_a, author),
            space_b, await make_proposal(app, space_b, component_b, author))


async def test_an_evaluator_answers_in_their_space_only(admin_web, app, server):
    space_a, proposal_a, space_b, proposal_b = await two_spaces(app)
    async with second_browser(server, app, "jordi") as (plain, _user):
        refused = await answer(plain, space_a, proposal_a)
        assert refused.status == 403 and REFUSED in refused.text
        assert "Answer this proposal" not in (await plain.get(proposal_path(space_a, proposal_a.id))).text
    async with second_browser(server, app, "eva") as (evaluator, eva):
        added = await grant(admin_web, space_a, "@Eva ")
        assert added.status == 200 and "The member now has this role in this space." in added.text
        assert "@eva" in added.text and "Remove Eva from the evaluators" in added.text
        page = await evaluator.get(proposal_path(space_a, proposal_a.id))
        assert "Answer this proposal" in page.text
        done = await answer(evaluator, space_a, proposal_a, "accepted", "The parks service will plant **12** trees.")
        assert done.status == 200 and "The answer is published." in done.text and "<strong>12</strong>" in done.text
        assert "Answer this proposal" not in (await evaluator.get(proposal_path(space_b, proposal_b.id))).text
        elsewhere = await answer(evaluator, space_b, proposal_b)
        assert elsewhere.status == 403 and REFUSED in elsewhere.text
        for path in ("/admin", f"/admin/spaces/{space_a.id}", "/admin/users", f"/admin/spaces/{space_a.id}/edit"):
            assert (await evaluator.get(path)).status == 403, path
        assert (await grant(evaluator, space_a, "jordi")).status == 403
    async with app[DB]() as db:
        a = await db.get(Proposal, proposal_a.id)
        b = await db.get(Proposal, proposal_b.id)
        event = await db.scalar(select(Event).where(Event.kind == "proposal.answered"))
    assert a.state == "accepted" and a.answer.startswith("The parks service") and b.state == "not_answered"
    assert event.subject_id == proposal_a.id and event.actor_id == eva.id
    assert await count(app, SpaceRole) == 1


async def test_removing_the_role_stops_it(admin_web, app, server):
    space_a, proposal_a, _space_b, _proposal_b = await two_spaces(app)
    async with second_browser(server, app, "eva") as (evaluator, _user):
        await grant(admin_web, space_a, "eva")
        assert (await answer(evaluator, space_a, proposal_a, "evaluating", "")).status == 200
        async with app[DB]() as db:
            role = await db.scalar(select(SpaceRole))
        page = f"/admin/spaces/{space_a.id}"
        removed = await admin_web.post(f"{page}/roles/{role.id}/delete", {}, csrf_from_path=page)
        assert removed.status == 200 and "The role was removed." in removed.text
        assert "No evaluators yet" in removed.text
        refused = await answer(evaluator, space_a, proposal_a, "accepted", "Yes")
        assert refused.status == 403 and REFUSED in refused.text
        assert "Answer this proposal" not in (await evaluator.get(proposal_path(space_a, proposal_a.id))).text
    async with app[DB]() as db:
        assert (await db.get(Proposal, proposal_a.id)).state == "evaluating"
    again = await admin_web.post(f"{page}/roles/{role.id}/delete", {}, csrf_from_path=page)
    assert again.status == 409 and "This role was already removed." in again.text


async def test_bad_role_forms_are_refused_and_store_nothing(admin_web, app):
    space_a, _proposal_a, space_b, _proposal_b = await two_spaces(app)
    await make_user(app, "eva")
    for username, role, message in (("", "evaluator", "Enter the username of a member of this node."),
                                    ("nobody", "evaluator", "No member of this node has this username."),
                                    ("eva", "emperor", "Choose one of the roles offered.")):
        page = await grant(admin_web, space_a, username, role)
        assert page.status == 422 and message in page.text, username
        assert f'value="{username}"' in page.text or not username
    assert await count(app, SpaceRole) == 0
    assert (await grant(admin_web, space_a, "eva")).status == 200
    twice = await grant(admin_web, space_a, "eva")
    assert twice.status == 422 and "This member already has this role in this space." in twice.text
    # A role of space A cannot be removed through the page of space B.
    async with app[DB]() as db:
        role = await db.scalar(select(SpaceRole))
    page = f"/admin/spaces/{space_b.id}"
    wrong = await admin_web.post(f"{page}/roles/{role.id}/delete", {}, csrf_from_path=page)
    assert wrong.status == 409 and await count(app, SpaceRole) == 1
    missing = await admin_web.post("/admin/spaces/999999/roles", {"username": "eva", "role": "evaluator"},
                                   csrf_from_path=page)
    assert missing.status == 404 and await count(app, SpaceRole) == 1


async def test_roles_need_an_admin_and_a_csrf_token(web, app):
    space_a, _proposal_a, _space_b, _proposal_b = await two_spaces(app)
    await make_user(app, "eva")
    anonymous = await grant(web, space_a, "eva")
    assert anonymous.status == 200 and "/login" in anonymous.url  # sent to log in first
    await log_in(web, app, "jordi")
    assert (await grant(web, space_a, "eva")).status == 403
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "alice_admin", role="admin")
    forged = await web.post(f"/admin/spaces/{space_a.id}/roles", {"username": "eva", "role": "evaluator"},
                            csrf="not-the-token")
    assert forged.status == 403 and await count(app, SpaceRole) == 0


async def test_deleting_the_user_or_the_space_removes_their_roles(admin_web, app):
    space_a, _proposal_a, space_b, _proposal_b = await two_spaces(app)
    eva = await make_user(app, "eva")
    await make_user(app, "noor")
    for space, username in ((space_a, "eva"), (space_b, "eva"), (space_b, "noor")):
        assert (await grant(admin_web, space, username)).status == 200
    async with app[DB].begin() as db:
        await db.delete(await db.get(User, eva.id))
    assert await count(app, SpaceRole) == 1
    async with app[DB].begin() as db:
        await db.delete(await db.get(Space, space_b.id))
    assert await count(app, SpaceRole) == 0
