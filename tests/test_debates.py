"""The debates component: opening debates (organisers, and residents when allowed), the list
with its filters, closing with a conclusion, and the component's settings in the admin."""
from __future__ import annotations

from sqlalchemy import select

from node.appkeys import DB
from node.components.debates.models import Debate
from node.components.debates.service import create_debate
from node.events import Event
from node.spaces.models import Component
from tests.spaces_support import count, log_in
from tests.test_comments import make_debate, page_path, second_browser

NEW = {"title.en": "Night buses", "title.fr": "Bus de nuit", "description.en": "Should they run on weekdays?",
       "instructions.en": "Be concrete.", "start_at": "2027-03-01T18:30", "end_at": ""}


def list_path(space, component) -> str:
    return f"/spaces/{space.slug}/c/{component.id}"


async def test_admins_open_official_debates(web, app):
    space, component, _ = await make_debate(app)
    await log_in(web, app, "alice_admin", role="admin")
    new = f"{list_path(space, component)}/debates/new"
    form = await web.get(new)
    assert form.status == 200 and 'name="title.ca"' in form.text
    missing = await web.post(new, {**NEW, "title.en": "", "title.fr": ""}, csrf_from_path=new)
    assert missing.status == 422 and "Enter the debate&#39;s title." in missing.text
    bad_dates = await web.post(new, {**NEW, "end_at": "2027-02-01T10:00"}, csrf_from_path=new)
    assert bad_dates.status == 422 and "The end must be on or after the start." in bad_dates.text
    assert await count(app, Debate) == 1
    page = await web.post(new, NEW, csrf_from_path=new)
    assert page.status == 200 and "<h1>Night buses</h1>" in page.text and "Official debate" in page.text
    assert "Be concrete." in page.text and "Close the debate" in page.text
    async with app[DB]() as db:
        debate = await db.scalar(select(Debate).order_by(Debate.id.desc()))
    assert debate.author_id is None and debate.title == {"en": "Night buses", "fr": "Bus de nuit"}
    assert debate.start_at.isoformat() == "2027-03-01T18:30:00+00:00"


async def test_residents_open_debates_only_when_the_component_allows_it(web, app):
    space, component, _ = await make_debate(app)
    new = f"{list_path(space, component)}/debates/new"
    resident = await log_in(web, app, "amelie")
    listing = await web.get(list_path(space, component))
    assert "Open a debate" not in listing.text
    refused = await web.post(new, NEW, csrf_from_path=list_path(space, component))
    assert refused.status == 403 and await count(app, Debate) == 1
    async with app[DB].begin() as db:
        row = await db.get(Component, component.id)
        row.settings = {**row.settings, "users_can_create": True}
    assert "Open a debate" in (await web.get(list_path(space, component))).text
    form = await web.get(new)
    assert 'name="title.en"' in form.text and 'name="title.fr"' not in form.text  # their language only
    no_description = await web.post(new, {"title.en": "Dogs in parks"}, csrf_from_path=new)
    assert no_description.status == 422 and "Say what the debate is about." in no_description.text
    page = await web.post(new, {"title.en": "Dogs in parks", "description.en": "<b>Leash</b> or not?",
                                "instructions.en": "ignored"}, csrf_from_path=new)
    assert page.status == 200 and "Opened by" in page.text and "&lt;b&gt;Leash&lt;/b&gt;" in page.text
    async with app[DB]() as db:
        debate = await db.scalar(select(Debate).order_by(Debate.id.desc()))
    assert debate.author_id == resident.id and debate.instructions == {}
    assert await count(app, Event, Event.kind == "debate.created") == 2


async def test_the_list_filters_open_and_closed_debates_and_paginates(web, app):
    space, component, first = await make_debate(app)
    async with app[DB].begin() as db:
        for n in range(21):
            await create_debate(db, component, {"title": {"en": f"Extra debate {n:02d}"}}, language="en")
    listing = await web.get(list_path(space, component))
    assert "Extra debate 20" in listing.text and "Page 1 of 2" in listing.text
    assert f'href="{list_path(space, component)}?state=open&amp;page=2"' in listing.text
    assert "Should the Saturday market move?" not in listing.text  # the oldest is on page 2
    assert "Should the Saturday market move?" in (await web.get(list_path(space, component) + "?page=2")).text

    await log_in(web, app, "alice_admin", role="admin")
    close = page_path(space, component, first) + "/close"
    refused = await web.post(close, {"conclusion.en": "  "}, csrf_from_path=close)
    assert refused.status == 422 and "Write the conclusion of the debate before closing it." in refused.text
    async with app[DB]() as db:
        assert (await db.get(Debate, first.id)).closed_at is None
    closed = await web.post(close, {"conclusion.en": "We move it to the **church square**."}, csrf_from_path=close)
    assert closed.status == 200 and "<strong>church square</strong>" in closed.text
    closed_list = await web.get(list_path(space, component) + "?state=closed")
    assert "Should the Saturday market move?" in closed_list.text and "Extra debate" not in closed_list.text
    open_list = await web.get(list_path(space, component) + "?state=open&page=2")
    assert "Should the Saturday market move?" not in open_list.text
    assert await count(app, Event, Event.kind == "debate.closed") == 1


async def test_only_admins_edit_and_close(web, app, server):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    for suffix in ("/edit", "/close"):
        assert (await web.get(path + suffix)).status == 403
        refused = await web.post(path + suffix, {"title.en": "Hacked", "conclusion.en": "Hacked"}, csrf_from_path=path)
        assert refused.status == 403
    async with app[DB]() as db:
        row = await db.get(Debate, debate.id)
    assert row.title["en"] == "Should the Saturday market move?" and row.closed_at is None
    async with second_browser(server, app, "alice_admin", "admin") as (admin, _user):
        edited = await admin.post(path + "/edit", {"title.en": "Where should the market go?",
                                                   "description.en": "New text"}, csrf_from_path=path + "/edit")
        assert edited.status == 200 and "<h1>Where should the market go?</h1>" in edited.text


async def test_component_settings_in_the_admin(web, app):
    space, component, _ = await make_debate(app)
    await log_in(web, app, "alice_admin", role="admin")
    path = f"/admin/spaces/{space.id}/components/{component.id}"
    form = await web.get(path)
    assert form.status == 200 and form.text.count('name="max_depth"') == 1
    base = {"name.en": "Debates", "comments_enabled": "1"}
    bad = await web.post(path, {**base, "max_depth": "eleven"}, csrf_from_path=path)
    assert bad.status == 422 and "Enter a whole number from 0 (no replies) to 10." in bad.text
    saved = await web.post(path, {**base, "max_depth": "2", "users_can_create": "1"}, csrf_from_path=path)
    assert saved.status == 200
    async with app[DB]() as db:
        settings = (await db.get(Component, component.id)).settings
    assert settings == {"users_can_create": True, "comments_enabled": True, "max_depth": 2}


async def test_demo_has_an_open_and_a_closed_debate_with_threads(web, app):
    from tests.test_demo import seeded

    await seeded(app)
    async with app[DB]() as db:
        component = await db.scalar(select(Component).where(Component.kind == "debates"))
        debates = (await db.scalars(select(Debate).order_by(Debate.id))).all()
    assert [d.closed for d in debates] == [False, True] and debates[1].conclusion["en"]
    assert [d.comments_count for d in debates] == [6, 4]
    listing = await web.get(f"/spaces/budget-participatif-2027/c/{component.id}?state=all")
    assert "Quelle place pour le vélo dans le centre-ville ?" in listing.text
    page = await web.get(f"/spaces/budget-participatif-2027/c/{component.id}/debates/{debates[0].id}",
                         headers={"Accept-Language": "en"})
    assert page.status == 200 and "How much room for cycling in the town centre?" in page.text
    assert page.text.count('class="comment-replies"') >= 2 and "physical " in page.text
    closed = await web.get(f"/spaces/budget-participatif-2027/c/{component.id}/debates/{debates[1].id}")
    assert "Le marché fermera à 14 h" in closed.text and "Horaires du marché du samedi" in closed.text
