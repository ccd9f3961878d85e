"""Permissions on debates: opening a debate and commenting (replies included) are refused with
a 403 that says what is missing, pages show the explanation instead of the form, and the
organisers' official debates are not a resident's action."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from node.appkeys import DB
from node.components.comments.models import Comment
from node.components.debates.models import Debate
from tests.permissions_support import CENSUS_ONLY, expire, grant, restrict
from tests.spaces_support import count, log_in
from tests.test_comments import comment, make_debate, page_path

OPENED = {"title.en": "More shade in summer", "description.en": "Trees or awnings on the square?"}
OPEN_MISSING = "To open debates, you need this verification: Residence (municipal census)."
COMMENT_MISSING = "To comment on debates, you need this verification: Residence (municipal census)."


async def test_opening_a_debate(web, app):
    space, component, _official = await make_debate(app, settings={"users_can_create": True})
    await restrict(app, component, create={"handlers": ["census"], "postal_codes": ["08001"]})
    noor = await log_in(web, app, "noor")
    listing = f"/spaces/{space.slug}/c/{component.id}"
    new = listing + "/debates/new"
    page = await web.get(listing)
    assert OPEN_MISSING in page.text and f'href="{new}"' not in page.text
    assert "To open debates you need:" in page.text and "a postal code among: 08001" in page.text
    assert (await web.get(new)).status == 403
    refused = await web.post(new, OPENED, csrf_from_path=listing)
    assert refused.status == 403 and OPEN_MISSING in refused.text
    await grant(app, noor, postal_code="08002")
    refused = await web.post(new, OPENED, csrf_from_path=listing)
    assert refused.status == 403 and "Only residents of these postal codes may open debates: 08001." in refused.text
    assert await count(app, Debate) == 1  # the official one
    await grant(app, noor, "census", postal_code="08001")
    assert f'href="{new}"' in (await web.get(listing)).text
    assert (await web.post(new, OPENED, csrf_from_path=new)).status == 200
    assert await count(app, Debate) == 2


async def test_organisers_open_official_debates_whatever_the_permission(web, app):
    space, component, _official = await make_debate(app)
    await restrict(app, component, create=CENSUS_ONLY)
    await log_in(web, app, "alice_admin", role="admin")
    new = f"/spaces/{space.slug}/c/{component.id}/debates/new"
    page = await web.post(new, {"title.en": "Night buses?"}, csrf_from_path=new)
    assert page.status == 200 and await count(app, Debate) == 2
    # Only organisers open debates here: the list says nothing about residents opening them.
    assert "To open debates you need:" not in (await web.get(f"/spaces/{space.slug}/c/{component.id}")).text


async def test_commenting_and_replying_on_a_debate(web, app):
    space, component, debate = await make_debate(app)
    await restrict(app, component, comment=CENSUS_ONLY)
    path = page_path(space, component, debate)
    noor = await log_in(web, app, "noor")
    authorisation = await grant(app, noor, expires_in=timedelta(days=10))
    assert (await comment(web, path, debate, "A first comment.")).status == 200
    first = await count(app, Comment)
    page = await web.get(path)
    assert 'id="comment-body"' in page.text and "Publish reply" in page.text
    await expire(app, authorisation)
    page = await web.get(path)
    assert "Your verification “Residence (municipal census)” expired on" in page.text
    assert 'id="comment-body"' not in page.text and "Publish reply" not in page.text
    assert "A first comment." in page.text  # what was said while verified stays
    refused = await comment(web, path, debate, "A second one.")
    assert refused.status == 403 and "verify again to comment on debates" in refused.text
    async with app[DB]() as db:
        parent = await db.scalar(select(Comment.id))
    refused = await comment(web, path, debate, "A reply.", parent_id=parent)
    assert refused.status == 403 and await count(app, Comment) == first == 1


async def test_anonymous_visitors_see_the_requirement_and_are_sent_to_log_in(web, app):
    space, component, debate = await make_debate(app)
    await restrict(app, component, comment=CENSUS_ONLY)
    path = page_path(space, component, debate)
    listing = await web.get(f"/spaces/{space.slug}/c/{component.id}")
    assert "To comment on debates you need:" in listing.text
    page = await web.get(path)
    assert "Log in to comment" in page.text
    sent = await comment(web, path, debate, "Hello", redirects=False)
    assert sent.status == 303 and sent.headers["Location"].startswith("/login")
    assert await count(app, Comment) == 0
