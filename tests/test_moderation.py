"""Moderation through the pages people use (real HTTP, both backends): reports, auto-hide at the
threshold, hiding and unhiding by moderators, blocking, the admin action log, permissions, CSRF."""
from __future__ import annotations

import json

from sqlalchemy import select

from node.appkeys import DB, SETTINGS
from node.components.comments.models import Comment
from node.components.proposals.models import Proposal
from node.events import Event
from node.moderation.models import AdminAction, Moderation, Report, UserBlock
from tests.proposals_fixtures import list_path, make_proposal, proposal_path, space_with_component
from tests.spaces_support import PASSWORD, count, log_in, make_user
from tests.test_comments import comment, make_debate, page_path, second_browser

TITLE = "Plant trees on the market square"


async def _proposal(app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "paula_author")
    proposal = await make_proposal(app, space, component, author)
    return space, component, proposal


async def _report(client, subject_type: str, subject_id: int, reason="spam", details="", **kwargs):
    return await client.post("/report", {"subject_type": subject_type, "subject_id": str(subject_id),
                                         "reason": reason, "details": details},
                             csrf_from_path=f"/report?subject_type={subject_type}&subject_id={subject_id}", **kwargs)


async def test_report_then_duplicate_is_refused(web, app, server):
    space, _, proposal = await _proposal(app)
    reporter = await log_in(web, app, "rita")
    page = await web.get(proposal_path(space, proposal.id))
    assert page.has(f"/report?subject_type=proposal&amp;subject_id={proposal.id}")
    form = await web.get(f"/report?subject_type=proposal&subject_id={proposal.id}")
    assert form.status == 200 and form.has(TITLE)
    sent = await _report(web, "proposal", proposal.id, details="Selling watches")
    assert sent.status == 200 and sent.has("moderators will look at your report")
    again = await _report(web, "proposal", proposal.id)
    assert again.status == 409 and again.has("already reported")
    async with app[DB]() as db:
        reports = list(await db.scalars(select(Report)))
        moderation = await db.scalar(select(Moderation))
    assert [(r.user_id, r.reason, r.details) for r in reports] == [(reporter.id, "spam", "Selling watches")]
    assert moderation.report_count == 1 and not moderation.hidden


async def test_bad_report_input_is_refused_and_keeps_what_was_typed(web, app, server):
    space, _, proposal = await _proposal(app)
    await log_in(web, app, "rita")
    page = await _report(web, "proposal", proposal.id, reason="other", details="")
    assert page.status == 422 and page.has("Other")
    page = await _report(web, "proposal", proposal.id, reason="nonsense", details="my words stay")
    assert page.status == 422 and page.has("my words stay")
    assert (await _report(web, "proposal", 999999)).status == 404
    assert await count(app, Report) == 0


async def test_anonymous_report_goes_to_login_and_csrf_is_required(web, app, server):
    space, _, proposal = await _proposal(app)
    page = await web.get(f"/report?subject_type=proposal&subject_id={proposal.id}", allow_redirects=False)
    assert page.status == 303 and "/login" in page.headers["Location"]
    await log_in(web, app, "rita")
    refused = await web.post("/report", {"subject_type": "proposal", "subject_id": str(proposal.id),
                                         "reason": "spam"}, csrf=False)
    assert refused.status == 403
    assert await count(app, Report) == 0


async def test_auto_hide_at_threshold_hides_everywhere_and_unhide_restores(web, app, server):
    app[SETTINGS].moderation_hide_threshold = 2
    space, component, proposal = await _proposal(app)
    for name in ("rita", "rudi"):
        async with second_browser(server, app, name) as (client, _):
            assert (await _report(client, "proposal", proposal.id)).status == 200
    async with app[DB]() as db:
        moderation = await db.scalar(select(Moderation))
        assert moderation.hidden and moderation.hidden_by_id is None
        assert await db.scalar(select(Event.kind).where(Event.kind == "moderation.hidden")) == "moderation.hidden"
        logged = await db.scalar(select(AdminAction).where(AdminAction.action == "moderation.hide"))
        assert logged.actor_id is None and logged.data["automatic"]
        assert await db.get(Proposal, proposal.id) is not None  # hidden, never deleted
    assert (await web.get(proposal_path(space, proposal.id))).status == 404
    assert not (await web.get(list_path(space, component))).has(TITLE)
    assert (await web.get(f"/api/proposals/{proposal.id}")).status == 404
    listing = json.loads((await web.get(f"/api/spaces/{space.slug}/proposals")).text)
    assert proposal.id not in [item["id"] for item in listing["items"]]
    async with second_browser(server, app, "rosa") as (client, _):
        late = await _report(client, "proposal", proposal.id)
        assert late.status == 409 and late.has("already hidden")

    await log_in(web, app, "mona_mod", role="moderator")
    queue = await web.get("/moderation?hidden=1")
    assert queue.status == 200 and queue.has(TITLE)
    done = await web.post(f"/moderation/{moderation.id}/unhide", {"reason": "Not spam after all"},
                          csrf_from_path="/moderation?hidden=1")
    assert done.status == 200
    assert (await web.get(proposal_path(space, proposal.id))).status == 200
    assert (await web.get(list_path(space, component))).has(TITLE)
    async with app[DB]() as db:
        actions = [(a.action, a.reason) for a in await db.scalars(select(AdminAction).order_by(AdminAction.id))]
    assert actions[-1] == ("moderation.unhide", "Not spam after all")


async def test_moderator_hides_a_comment_and_its_replies(web, app, server):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    author = await make_user(app, "carl")
    async with app[DB].begin() as db:
        parent = Comment(commentable_type="debate", commentable_id=debate.id, space_id=space.id,
                         component_id=component.id, author_id=author.id, body="Buy cheap pills here", depth=0,
                         up_votes=0, down_votes=0)
        db.add(parent)
        await db.flush()
        db.add(Comment(commentable_type="debate", commentable_id=debate.id, space_id=space.id,
                       component_id=component.id, author_id=author.id, body="A reply to the pills", depth=1,
                       parent_id=parent.id, up_votes=0, down_votes=0))
    assert (await web.get(path)).has("Buy cheap pills")
    await log_in(web, app, "mona_mod", role="moderator")
    assert (await web.get(path)).has(f"/report?subject_type=debate&amp;subject_id={debate.id}")
    hidden = await web.post("/moderation/hide", {"subject_type": "comment", "subject_id": str(parent.id),
                                                 "reason": "Spam"}, csrf_from_path=path)
    assert hidden.status == 200 and "hidden=1" in hidden.url
    page = await web.get(path)
    assert not page.has("Buy cheap pills") and not page.has("A reply to the pills")
    api = json.loads((await web.get(f"/api/comments?commentable_type=debate&commentable_id={debate.id}")).text)
    assert [c["id"] for c in api["items"]] == []
    twice = await web.post("/moderation/hide", {"subject_type": "comment", "subject_id": str(parent.id),
                                                "reason": "Spam"}, csrf_from_path=path)
    assert twice.status == 409
    no_reason = await web.post("/moderation/hide", {"subject_type": "debate", "subject_id": str(debate.id),
                                                    "reason": " "}, csrf_from_path=path)
    assert no_reason.status == 422
    assert (await web.get(path)).status == 200
    # A hidden comment takes no replies; a hidden debate no comments, and servers get a Tombstone.
    reply = await comment(web, path, debate, "Where can I buy them?", parent_id=parent.id)
    assert reply.status == 409 and reply.has("Moderators hid the comment you replied to")
    accept = {"Accept": "application/activity+json"}
    hide_debate = await web.post("/moderation/hide", {"subject_type": "debate", "subject_id": str(debate.id),
                                                      "reason": "Off topic"}, csrf_from_path=path)
    assert hide_debate.status == 200
    late = await comment(web, "/moderation", debate, "Still here?")
    assert late.status == 409 and late.has("Moderators hid this item")
    gone = await web.get(path, headers=accept)
    assert gone.status == 410 and json.loads(gone.text)["type"] == "Tombstone"
    hidden_note = await web.get(f"/comments/{parent.id}", headers=accept)
    assert hidden_note.status == 410 and json.loads(hidden_note.text)["id"].endswith(f"/comments/{parent.id}")
    async with app[DB]() as db:
        bodies = [c.body for c in await db.scalars(select(Comment).order_by(Comment.id))]
    assert bodies == ["Buy cheap pills here", "A reply to the pills"]


async def test_plain_user_cannot_moderate(web, app, server):
    space, _, proposal = await _proposal(app)
    assert (await web.get("/moderation", allow_redirects=False)).status == 303  # anonymous: log in
    await log_in(web, app, "rita")
    assert (await web.get("/moderation")).status == 403
    assert (await web.get("/admin/log")).status == 403
    refused = await web.post("/moderation/hide", {"subject_type": "proposal", "subject_id": str(proposal.id),
                                                  "reason": "x"}, csrf_from_path=proposal_path(space, proposal.id))
    assert refused.status == 403
    refused = await web.post("/users/paula_author/block", {"reason": "x"}, csrf_from_path="/users/paula_author")
    assert refused.status == 403
    assert await count(app, Moderation) == 0 and await count(app, UserBlock) == 0


async def test_block_ends_sessions_and_login_then_unblock(web, app, server):
    async with second_browser(server, app, "troll") as (troll, troll_user):
        assert (await troll.get("/account")).status == 200
        await log_in(web, app, "mona_mod", role="moderator")
        profile = await web.get("/users/troll")
        assert profile.has("Block this account")
        blocked = await web.post("/users/troll/block", {"reason": "Harassment"}, csrf_from_path="/users/troll")
        assert blocked.status == 200 and blocked.has("This account is blocked")
        after = await troll.get("/account", allow_redirects=False)
        assert after.status == 303 and "/login" in after.headers["Location"]
        refused = await troll.login("troll", PASSWORD)
        assert refused.status == 403 and refused.has("blocked")
        wrong = await troll.login("troll", "not the password at all")
        assert wrong.status == 422 and not wrong.has("blocked")
        again = await web.post("/users/troll/block", {"reason": "Again"}, csrf_from_path="/users/troll")
        assert again.status == 409
        unblocked = await web.post("/users/troll/unblock", {"reason": "Apologised"}, csrf_from_path="/users/troll")
        assert unblocked.status == 200 and not unblocked.has("This account is blocked")
        assert (await troll.login("troll", PASSWORD)).status == 200
    async with app[DB]() as db:
        actions = [(a.action, a.subject_id, a.reason) for a in await db.scalars(
            select(AdminAction).order_by(AdminAction.id))]
    assert actions == [("user.block", troll_user.id, "Harassment"), ("user.unblock", troll_user.id, "Apologised")]


async def test_admin_log_records_role_and_settings_changes_with_pages(web, app, server):
    admin = await log_in(web, app, "alice_admin", role="admin")
    someone = await make_user(app, "bob")
    page = await web.post(f"/admin/users/{someone.id}/role", {"role": "moderator"}, csrf_from_path="/admin/users")
    assert page.status == 200
    async with app[DB].begin() as db:
        from node.moderation.log import log_action
        for n in range(60):
            await log_action(db, admin, "test.filler", reason=f"filler {n}")
    first = await web.get("/admin/log")
    assert first.status == 200 and first.has("Page 1 of 2") and first.has("filler 59")
    assert first.has('href="/admin/log?page=2"') and not first.has("Previous page")
    second = await web.get("/admin/log?page=2")
    assert second.has("user.role") and second.has("@alice_admin")
    async with app[DB]() as db:
        role = await db.scalar(select(AdminAction).where(AdminAction.action == "user.role"))
    assert (role.actor_id, role.subject_id, role.data) == (admin.id, someone.id, {"role": "moderator"})

