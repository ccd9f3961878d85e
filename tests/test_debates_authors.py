"""Residents' debates: where residents may open debates, a debate's author closes it with a
conclusion and edits it while nobody has commented; nobody else but the organisers can."""
from __future__ import annotations

from sqlalchemy import select

from node.appkeys import DB
from node.components.debates.models import Debate
from node.events import Event
from node.spaces.models import Component
from tests.spaces_support import count, log_in
from tests.test_comments import comment, make_debate, page_path, second_browser

OPENED = {"title.en": "More shade in summer", "description.en": "Trees or awnings on the square?"}


async def open_debate(web, app):
    """A resident's debate in a component that lets residents open debates; `web` is its author."""
    space, component, _official = await make_debate(app, settings={"users_can_create": True})
    await log_in(web, app, "noor")
    new = f"/spaces/{space.slug}/c/{component.id}/debates/new"
    page = await web.post(new, OPENED, csrf_from_path=new)
    assert page.status == 200, page.text[:300]
    async with app[DB]() as db:
        debate = await db.scalar(select(Debate).order_by(Debate.id.desc()))
    return space, component, debate, page_path(space, component, debate)


async def test_the_author_edits_until_someone_comments(web, app, server):
    space, component, debate, path = await open_debate(web, app)
    page = await web.get(path)
    assert "Edit the debate" in page.text and "Close the debate" in page.text
    form = await web.get(path + "/edit")
    assert form.status == 200 and 'name="title.en"' in form.text and 'name="title.fr"' not in form.text
    empty = await web.post(path + "/edit", {"title.en": "", "description.en": "x"}, csrf_from_path=path + "/edit")
    assert empty.status == 422 and "Enter the debate&#39;s title." in empty.text
    edited = await web.post(path + "/edit", {"title.en": "Shade on the market square", "description.en": "Trees?"},
                            csrf_from_path=path + "/edit")
    assert edited.status == 200 and "<h1>Shade on the market square</h1>" in edited.text
    assert await count(app, Event, Event.kind == "debate.edited") == 1
    async with second_browser(server, app, "sam") as (other, _user):
        assert "Edit the debate" not in (await other.get(path)).text
        for suffix in ("/edit", "/close"):
            refused = await other.get(path + suffix)
            assert refused.status == 403 and "Only the organisers and the author of this debate" in refused.text
        assert (await comment(other, path, debate, "Trees, definitely.")).status == 200
    page = await web.get(path)
    assert "Edit the debate" not in page.text and "Close the debate" in page.text
    refused = await web.post(path + "/edit", {"title.en": "Changed after a comment", "description.en": "x"},
                             csrf_from_path=path)
    assert refused.status == 403 and "This debate has comments, so its text can no longer change." in refused.text
    async with app[DB]() as db:
        assert (await db.get(Debate, debate.id)).title == {"en": "Shade on the market square"}


async def test_the_author_closes_with_a_conclusion(web, app, server):
    space, component, debate, path = await open_debate(web, app)
    form = await web.get(path + "/close")
    assert form.status == 200 and 'name="conclusion.en"' in form.text and 'name="conclusion.fr"' not in form.text
    empty = await web.post(path + "/close", {"conclusion.en": "  "}, csrf_from_path=path + "/close")
    assert empty.status == 422 and "Write the conclusion of the debate before closing it." in empty.text
    async with second_browser(server, app, "sam") as (other, _user):
        refused = await other.post(path + "/close", {"conclusion.en": "Hijacked"}, csrf_from_path=path)
        assert refused.status == 403
    closed = await web.post(path + "/close", {"conclusion.en": "Trees, and [awnings](javascript:alert(1))."},
                            csrf_from_path=path + "/close")
    assert closed.status == 200 and "Trees, and" in closed.text and 'href="javascript:' not in closed.text
    assert "Change the conclusion" in closed.text and "Edit the debate" not in closed.text
    async with app[DB]() as db:
        row = await db.get(Debate, debate.id)
        event = await db.scalar(select(Event).where(Event.kind == "debate.closed"))
    assert row.closed_at is not None and row.conclusion == {"en": "Trees, and [awnings](javascript:alert(1))."}
    assert event.actor_id == row.author_id and event.subject_id == debate.id
    assert (await web.get(path + "/edit")).status == 403


async def test_authors_lose_the_right_when_residents_may_no_longer_open_debates(web, app):
    space, component, debate, path = await open_debate(web, app)
    async with app[DB].begin() as db:
        row = await db.get(Component, component.id)
        row.settings = {**row.settings, "users_can_create": False}
    assert "Close the debate" not in (await web.get(path)).text
    refused = await web.post(path + "/close", {"conclusion.en": "Done"}, csrf_from_path=path)
    assert refused.status == 403 and await count(app, Event, Event.kind == "debate.closed") == 0


async def test_organisers_still_manage_residents_debates(web, app, server):
    space, component, debate, path = await open_debate(web, app)
    async with second_browser(server, app, "sam") as (other, _user):
        await comment(other, path, debate, "A comment.")
    async with second_browser(server, app, "alice_admin", "admin") as (admin, _user):
        edited = await admin.post(path + "/edit", {"title.en": "Shade (moderated title)", "description.en": "Trees?"},
                                  csrf_from_path=path + "/edit")
        assert edited.status == 200 and "Shade (moderated title)" in edited.text
        form = await admin.get(path + "/close")
        assert 'name="conclusion.fr"' in form.text  # organisers conclude in every language
        closed = await admin.post(path + "/close", {"conclusion.en": "Done", "conclusion.fr": "Fini"},
                                  csrf_from_path=path + "/close")
        assert closed.status == 200 and "Done" in closed.text


async def test_anonymous_visitors_are_sent_to_log_in(web, app, server):
    space, component, debate, path = await open_debate(web, app)
    await web.post("/logout", {}, csrf_from_path="/")
    page = await web.get(path + "/close")
    assert page.status == 200 and "/login" in page.url
