"""Proposals over HTTP: publishing, fingerprints, editing, withdrawing, answers, amendments and
bad input (each refused with its status and message, nothing stored)."""
from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from node.appkeys import DB
from node.components.proposals.models import Amendment, Proposal, ProposalVersion
from node.events import Event
from tests.spaces_support import count, log_in, make_user
from tests.proposals_fixtures import (
    BODY, list_path, make_proposal, proposal_path, space_with_component,
)


def new_path(space, component) -> str:
    return f"/spaces/{space.slug}/c/{component.id}/proposals/new"


async def post_new(web, space, component, **fields):
    path = new_path(space, component)
    return await web.post(path, {"title": "Plant trees on the market square", "body": BODY, **fields},
                          csrf_from_path=path)


async def test_publish_a_proposal_and_recompute_its_fingerprint(web, app):
    space, component, _ = await space_with_component(app)
    await log_in(web, app, "amelie")
    form = await web.get(new_path(space, component))
    assert form.status == 200 and 'name="title"' in form.text
    page = await post_new(web, space, component, category="Trees", address="Place du Marché")
    assert page.status == 200 and "Your proposal is published." in page.text
    assert re.search(r"/spaces/budget-2027/proposals/\d+\?done=created$", page.url)
    canonical = html.unescape(re.search(r'<pre class="canonical">(.*?)</pre>', page.text, re.S).group(1))
    shown = re.search(r'<code class="hash">([0-9a-f]{64})</code>', page.text).group(1)
    assert hashlib.sha256(canonical.encode()).hexdigest() == shown
    content = json.loads(canonical)
    base = web.base
    assert content == {"space": f"{base}/spaces/budget-2027", "title": "Plant trees on the market square",
                       "body": BODY, "author": f"{base}/users/amelie", "created_at": content["created_at"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", content["created_at"])
    assert "| sha256sum" in page.text and "Place du Marché" in page.text
    listing = await web.get(list_path(space, component))
    assert "Plant trees on the market square" in listing.text and "1 proposal" in listing.text


async def test_similar_titles_are_shown_before_publishing(web, app):
    space, component, _ = await space_with_component(app)
    author = await log_in(web, app, "amelie")
    await make_proposal(app, space, component, author, title="More trees on the market square")
    page = await post_new(web, space, component, title="Plant more trees on the market square")
    assert page.status == 200 and "Similar proposals already exist" in page.text
    assert "More trees on the market square" in page.text and 'name="confirm" value="1"' in page.text
    assert await count(app, Proposal) == 1
    page = await post_new(web, space, component, title="Plant more trees on the market square", confirm="1")
    assert "Your proposal is published." in page.text and await count(app, Proposal) == 2


@pytest.mark.parametrize("fields, field, text", [
    ({"title": "Too short"}, "title", "Write at least 10 characters."),
    ({"title": "x" * 151}, "title", "Use at most 150 characters."),
    ({"body": "Short body"}, "body", "Write at least 15 characters."),
    ({"body": "x" * 10_001}, "body", "Use at most 10000 characters."),
    ({"address": "x" * 201}, "address", "Use at most 200 characters."),
])
async def test_length_limits(web, app, fields, field, text):
    space, component, _ = await space_with_component(app)
    await log_in(web, app, "amelie")
    page = await post_new(web, space, component, **fields)
    assert page.status == 422 and text in page.text and f'id="f-{field}-error"' in page.text
    assert await count(app, Proposal) == 0 and await count(app, ProposalVersion) == 0


async def test_category_must_come_from_the_list_when_there_is_one(web, app):
    space, component, _ = await space_with_component(app, categories=["Trees", "Streets"])
    await log_in(web, app, "amelie")
    page = await post_new(web, space, component, category="Spaceships")
    assert page.status == 422 and "Choose a category from the list." in page.text
    assert await count(app, Proposal) == 0


async def test_scripts_are_shown_as_text(web, app):
    space, component, _ = await space_with_component(app)
    author = await log_in(web, app, "amelie")
    proposal = await make_proposal(app, space, component, author, title="<script>alert(1)</script> more trees",
                                   body="Hello <script>alert(2)</script> <img src=x onerror=alert(3)> world")
    for path in (proposal_path(space, proposal.id), list_path(space, component),
                 proposal_path(space, proposal.id) + "/versions"):
        page = await web.get(path)
        assert page.status == 200
        assert "<script>alert" not in page.text and "<img" not in page.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt; more trees" in page.text, path


async def test_anonymous_visitors_are_sent_to_login_and_forms_need_their_token(web, app):
    space, component, _ = await space_with_component(app)
    page = await web.get(new_path(space, component))
    assert "/login" in page.url
    await log_in(web, app, "amelie")
    page = await web.post(new_path(space, component), {"title": "Plant trees on the square", "body": BODY},
                          csrf=False)
    assert page.status == 403 and "security token" in page.text
    assert await count(app, Proposal) == 0


@pytest.mark.parametrize("suffix", ["999999", "abc", "99999999999999999999", "-1", "1.5"])
async def test_unknown_or_malformed_ids_are_404(web, app, suffix):
    space, component, _ = await space_with_component(app)
    await log_in(web, app, "amelie")
    for path in (f"/spaces/{space.slug}/proposals/{suffix}", f"/spaces/{space.slug}/proposals/{suffix}/versions",
                 f"/spaces/{space.slug}/c/{component.id}/proposals/new".replace(str(component.id), suffix)):
        assert (await web.get(path)).status == 404, path
    page = await web.post(f"/spaces/{space.slug}/proposals/{suffix}/support", {}, csrf_from_path="/")
    assert page.status == 404
    api = await web.get(f"/api/proposals/{suffix}")
    assert api.status == 404 and json.loads(api.text)["status"] == 404


async def test_a_proposal_of_another_space_is_not_found_under_this_one(web, app):
    space, component, _ = await space_with_component(app)
    other, other_component, _ = await space_with_component(app, "other-space")
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, other, other_component, author)
    assert (await web.get(proposal_path(space, proposal.id))).status == 404
    assert (await web.get(proposal_path(other, proposal.id))).status == 200


async def test_edit_within_the_window_makes_a_new_version(web, app):
    space, component, _ = await space_with_component(app)
    author = await log_in(web, app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    edit = proposal_path(space, proposal.id) + "/edit"
    page = await web.post(edit, {"title": "Plant trees on the old market square", "body": BODY + "\nWith benches."},
                          csrf_from_path=edit)
    assert page.status == 200 and "new version" in page.text and "version 2" in page.text
    async with app[DB]() as db:
        versions = (await db.scalars(select(ProposalVersion).order_by(ProposalVersion.number))).all()
    assert [v.number for v in versions] == [1, 2] and versions[0].fingerprint != versions[1].fingerprint
    history = await web.get(proposal_path(space, proposal.id) + "/versions")
    assert "Plant trees on the market square" in history.text  # the old text stays visible
    assert "<ins>+ With benches.</ins>" in history.text and versions[0].fingerprint in history.text


async def test_edit_refused_after_the_window_for_others_and_once_answered(web, app):
    space, component, _ = await space_with_component(app, edit_window_minutes=15)
    author = await log_in(web, app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    edit = proposal_path(space, proposal.id) + "/edit"
    form = {"title": "Plant trees on the old market square", "body": BODY}
    async with app[DB].begin() as db:
        await db.execute(update(Proposal).values(created_at=proposal.created_at - timedelta(minutes=16)))
    page = await web.post(edit, form, csrf_from_path=proposal_path(space, proposal.id))
    assert page.status == 403 and "The time for editing this proposal is over." in page.text
    assert (await web.get(edit)).status == 403
    async with app[DB].begin() as db:
        await db.execute(update(Proposal).values(created_at=proposal.created_at, state="evaluating"))
    page = await web.post(edit, form, csrf_from_path=proposal_path(space, proposal.id))
    assert page.status == 403 and "can no longer be edited" in page.text
    async with app[DB].begin() as db:
        await db.execute(update(Proposal).values(state="not_answered"))
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "jordi")
    page = await web.post(edit, form, csrf_from_path=proposal_path(space, proposal.id))
    assert page.status == 403 and "Only the author of a proposal can edit it." in page.text
    assert await count(app, ProposalVersion) == 1


async def test_withdraw_freezes_the_proposal(web, app):
    space, component, _ = await space_with_component(app)
    author = await log_in(web, app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    path = proposal_path(space, proposal.id)
    page = await web.post(path + "/withdraw", {}, csrf_from_path=path)
    assert page.status == 200 and "Your proposal is withdrawn." in page.text
    again = await web.post(path + "/withdraw", {}, csrf_from_path=path)
    assert again.status == 409 and "already withdrawn" in again.text
    async with app[DB]() as db:
        events = (await db.scalars(select(Event.kind).order_by(Event.id))).all()
    assert events == ["proposal.created", "proposal.withdrawn"]
    # Withdrawn proposals leave the default list but stay reachable.
    assert "Plant trees" not in (await web.get(list_path(space, component))).text
    assert "Plant trees" in (await web.get(list_path(space, component) + "?state=withdrawn")).text
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "jordi")
    amend = await web.post(path + "/amend", {"title": "Plant trees everywhere in town", "body": BODY},
                           csrf_from_path=path)
    assert amend.status == 409 and "A withdrawn proposal cannot be amended." in amend.text
    assert await count(app, Amendment) == 0


async def test_admins_answer_with_a_state_and_a_text(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    path = proposal_path(space, proposal.id)
    await log_in(web, app, "jordi")
    refused = await web.post(path + "/answer", {"state": "accepted", "answer": "Yes"}, csrf_from_path=path)
    assert refused.status == 403 and await count(app, Event, Event.kind == "proposal.answered") == 0
    assert "Only administrators and the evaluators of this space can answer its proposals." in refused.text
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "alice_admin", role="admin")
    bad = await web.post(path + "/answer", {"state": "maybe", "answer": "Hmm"}, csrf_from_path=path)
    assert bad.status == 422 and "Choose one of the states offered." in bad.text
    page = await web.post(path + "/answer", {"state": "accepted", "answer": "The parks service will plant **12** trees."},
                          csrf_from_path=path)
    assert page.status == 200 and "Official answer" in page.text and "<strong>12</strong>" in page.text
    async with app[DB]() as db:
        event = await db.scalar(select(Event).where(Event.kind == "proposal.answered"))
        row = await db.get(Proposal, proposal.id)
    assert event.kind == "proposal.answered" and event.data["state"] == "accepted"
    assert event.subject_id == proposal.id and row.answered_at is not None
    listing = await web.get(list_path(space, component) + "?state=accepted")
    assert "Plant trees" in listing.text


async def test_amendment_accepted_becomes_a_version_crediting_its_writer(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    path = proposal_path(space, proposal.id)
    await log_in(web, app, "jordi")
    page = await web.post(path + "/amend", {"title": "Plant trees and benches on the market square",
                                            "body": BODY + "\nAnd <b>benches</b>."}, csrf_from_path=path + "/amend")
    assert page.status == 200 and "Your amendment is sent" in page.text
    async with app[DB]() as db:
        amendment = await db.scalar(select(Amendment))
    decide = f"{path}/amendments/{amendment.id}/accept"
    refused = await web.post(decide, {}, csrf_from_path=path)
    assert refused.status == 403 and "Only the author of the proposal" in refused.text
    await web.post("/logout", {}, csrf_from_path="/")
    await web.login("amelie", "correct horse battery")
    page = await web.post(decide, {}, csrf_from_path=path)
    assert page.status == 200 and "The amendment is accepted" in page.text
    assert "Plant trees and benches on the market square" in page.text
    again = await web.post(decide, {}, csrf_from_path=path)
    assert again.status == 409 and "already been decided" in again.text
    history = await web.get(path + "/versions")
    assert "amendment written by Jordi" in history.text
    assert "<ins>+ And &lt;b&gt;benches&lt;/b&gt;.</ins>" in history.text
    async with app[DB]() as db:
        versions = (await db.scalars(select(ProposalVersion).order_by(ProposalVersion.number))).all()
        kinds = (await db.scalars(select(Event.kind).order_by(Event.id))).all()
    assert versions[1].amendment_id == amendment.id and versions[1].author_id == author.id
    assert kinds == ["proposal.created", "proposal.amendment_proposed", "proposal.amended"]


async def test_amendment_rejected_and_bad_amendments(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    path = proposal_path(space, proposal.id)
    await log_in(web, app, "jordi")
    same = await web.post(path + "/amend", {"title": proposal.title, "body": proposal.body}, csrf_from_path=path)
    assert same.status == 422 and "must change the title or the text" in same.text
    short = await web.post(path + "/amend", {"title": "Short", "body": BODY}, csrf_from_path=path)
    assert short.status == 422 and await count(app, Amendment) == 0
    await web.post(path + "/amend", {"title": "Plant oaks on the market square", "body": BODY}, csrf_from_path=path)
    async with app[DB]() as db:
        amendment = await db.scalar(select(Amendment))
    await web.post("/logout", {}, csrf_from_path="/")
    await web.login("amelie", "correct horse battery")
    own = await web.post(path + "/amend", {"title": "Plant pines on the market square", "body": BODY},
                         csrf_from_path=path)
    assert own.status == 403 and "edit it instead" in own.text
    page = await web.post(f"{path}/amendments/{amendment.id}/reject", {}, csrf_from_path=path)
    assert "The amendment is rejected." in page.text and await count(app, ProposalVersion) == 1
