"""Threaded comments on debates, through the pages a resident uses (real HTTP, both backends).
Also holds the helpers the other test_comments_* and test_debates modules share."""
from __future__ import annotations

import contextlib
import re

from aiohttp import ClientSession, CookieJar
from sqlalchemy import select

from node.appkeys import DB
from node.components.comments.models import Comment
from node.components.debates.models import Debate
from node.components.debates.service import close_debate, create_debate
from node.events import Event
from node.spaces.service import add_component
from tests.helpers import WebClient
from tests.spaces_support import PASSWORD, count, log_in, make_space, make_user


async def make_debate(app, *, settings: dict | None = None, closed: bool = False, slug: str = "debates-2027",
                      published: bool = True):
    space, _, _ = await make_space(app, slug, published=published)
    async with app[DB].begin() as db:
        component = await add_component(db, space, "debates", {
            "name": {"en": "Debates", "fr": "Débats"}, "settings": settings or {}})
        debate = await create_debate(db, component, {
            "title": {"en": "Should the Saturday market move?", "fr": "Faut-il déplacer le marché ?"},
            "description": {"en": "The square is being **rebuilt**."}}, language="en")
        if closed:
            await close_debate(db, debate, {"en": "The market stays where it is."}, actor_id=None, language="en")
    return space, component, debate


def page_path(space, component, debate) -> str:
    return f"/spaces/{space.slug}/c/{component.id}/debates/{debate.id}"


async def comment(web, path: str, debate, body: str, *, parent_id=None, redirects=True, **extra):
    data = {"commentable_type": "debate", "commentable_id": str(debate.id), "body": body, **extra}
    if parent_id is not None:
        data["parent_id"] = str(parent_id)
    return await web.post("/comments", data, csrf_from_path=path, allow_redirects=redirects)


async def comments_of(app, debate) -> list[Comment]:
    async with app[DB]() as db:
        return list((await db.scalars(select(Comment).where(Comment.commentable_id == debate.id)
                                      .order_by(Comment.id))).all())


@contextlib.asynccontextmanager
async def second_browser(server, app, username: str, role: str = "user"):
    """Another visitor with their own cookies, logged in as a new user."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
        client = WebClient(session, str(server.make_url("")).rstrip("/"))
        user = await make_user(app, username, role)
        assert (await client.login(username, PASSWORD)).status == 200
        yield client, user


async def test_comment_and_reply_show_as_a_nested_thread(web, app):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    anonymous = await web.get(path)
    assert "No comments yet." in anonymous.text and "Log in to comment" in anonymous.text
    author = await log_in(web, app, "amelie")
    sent = await comment(web, path, debate, "Keep it **near** the station.", redirects=False)
    assert sent.status == 303
    first = (await comments_of(app, debate))[0]
    assert sent.headers["Location"] == f"{path}#comment-{first.id}"
    reply = await comment(web, path, debate, "Agreed, with more bike racks.", parent_id=first.id)
    assert reply.status == 200
    stored = await comments_of(app, debate)
    assert [(c.depth, c.parent_id, c.author_id, c.alignment) for c in stored] == [
        (0, None, author.id, None), (1, first.id, author.id, None)]
    html = reply.text
    assert f'<article id="comment-{first.id}"' in html and "<strong>near</strong>" in html
    nested = re.search(rf'id="comment-{first.id}".*?<ol class="comment-replies"[^>]*>\s*<li>\s*<article id="comment-{stored[1].id}"',
                       html, re.S)
    assert nested, "the reply is not nested under its parent"
    assert "Comments <span class=\"muted\">(2)</span>" in html
    async with app[DB]() as db:
        assert (await db.get(Debate, debate.id)).comments_count == 2
        events = (await db.scalars(select(Event).where(Event.kind == "comment.created"))).all()
    assert [(e.subject_id, e.actor_id, e.data["parent_id"]) for e in events] == [
        (first.id, author.id, None), (stored[1].id, author.id, first.id)]


async def test_edit_shows_an_edited_mark_and_only_the_author_may_edit(web, app, server):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    await comment(web, path, debate, "First version.")
    (first,) = await comments_of(app, debate)
    assert "Edited" not in (await web.get(path)).text
    form = await web.get(f"/comments/{first.id}/edit")
    assert form.status == 200 and "First version." in form.text
    edited = await web.post(f"/comments/{first.id}/edit", {"body": "Second version."},
                            csrf_from_path=f"/comments/{first.id}/edit")
    assert edited.status == 200 and "Second version." in edited.text and "First version." not in edited.text
    (first,) = await comments_of(app, debate)
    assert first.edited_at is not None
    assert f'class="comment-edited">Edited <time datetime="{first.edited_at.isoformat()}"' in edited.text

    for username, role in (("jordi", "user"), ("karim", "moderator")):
        async with second_browser(server, app, username, role) as (other, _user):
            assert (await other.get(f"/comments/{first.id}/edit")).status == 403
            refused = await other.post(f"/comments/{first.id}/edit", {"body": "Hijacked"}, csrf_from_path=path)
            assert refused.status == 403 and "Only the author of a comment can edit it." in refused.text
    assert (await comments_of(app, debate))[0].body == "Second version."


async def test_deleting_leaves_a_placeholder_and_keeps_the_replies(web, app, server):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    await comment(web, path, debate, "A comment I will regret.")
    (first,) = await comments_of(app, debate)
    async with second_browser(server, app, "jordi") as (other, _user):
        await comment(other, path, debate, "A reply worth keeping.", parent_id=first.id)
        refused = await other.post(f"/comments/{first.id}/delete", csrf_from_path=path)
        assert refused.status == 403
    assert (await comments_of(app, debate))[0].deleted_at is None

    page = await web.post(f"/comments/{first.id}/delete", csrf_from_path=path)
    assert page.status == 200
    assert "A comment I will regret." not in page.text and "Comment deleted" in page.text
    assert "A reply worth keeping." in page.text
    first, reply = await comments_of(app, debate)
    assert first.deleted_at is not None and reply.parent_id == first.id
    async with app[DB]() as db:
        assert (await db.get(Debate, debate.id)).comments_count == 1
    # Deleting twice changes nothing; a deleted comment takes no replies.
    assert (await web.post(f"/comments/{first.id}/delete", csrf_from_path=path)).status == 200
    refused = await comment(web, path, debate, "Hello?", parent_id=first.id)
    assert refused.status == 422 and "was deleted" in refused.text
    assert await count(app, Comment) == 2


async def test_moderators_delete_other_peoples_comments(web, app, server):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "troll")
    await comment(web, path, debate, "Spam spam spam.")
    (spam,) = await comments_of(app, debate)
    async with second_browser(server, app, "karim", "moderator") as (moderator, karim):
        page = await moderator.post(f"/comments/{spam.id}/delete", csrf_from_path=path)
        assert page.status == 200 and "Spam spam spam." not in page.text
    (spam,) = await comments_of(app, debate)
    assert spam.deleted_by_id == karim.id


async def test_replying_beyond_the_depth_limit_is_refused_with_a_message(web, app):
    space, component, debate = await make_debate(app, settings={"max_depth": 1})
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    await comment(web, path, debate, "Root.")
    (root,) = await comments_of(app, debate)
    page = await comment(web, path, debate, "Depth one.", parent_id=root.id)
    (_, child) = await comments_of(app, debate)
    assert child.depth == 1
    # The page offers no reply form under the deepest comment...
    assert f'name="parent_id" value="{root.id}"' in page.text
    assert f'name="parent_id" value="{child.id}"' not in page.text
    # ...and a crafted request is refused, keeping the text and offering a reply next to it.
    refused = await comment(web, path, debate, "Depth two, my long thoughts.", parent_id=child.id)
    assert refused.status == 422
    assert "Replies can only be nested 1 levels deep" in refused.text
    assert "Depth two, my long thoughts." in refused.text
    assert f'name="parent_id" value="{root.id}"' in refused.text
    assert await count(app, Comment) == 2


async def test_a_closed_debate_refuses_comments_with_a_message(web, app):
    space, component, debate = await make_debate(app, closed=True)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    page = await web.get(path)
    assert "This debate is closed: it no longer accepts comments." in page.text
    assert 'id="comment-body"' not in page.text and "The market stays where it is." in page.text
    refused = await comment(web, path, debate, "Too late?")
    assert refused.status == 403 and "This debate is closed" in refused.text
    assert await count(app, Comment) == 0


async def test_comments_can_be_turned_off_in_the_component(web, app):
    space, component, debate = await make_debate(app, settings={"comments_enabled": False})
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    refused = await comment(web, path, debate, "Hello")
    assert refused.status == 403 and "Comments are turned off" in refused.text
    assert await count(app, Comment) == 0


async def test_scripts_in_comments_are_shown_as_text(web, app):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "mallory")
    body = ('<script>alert("x")</script> <img src=x onerror=alert(1)> [click](javascript:alert(1)) '
            "[site](https://example.org)")
    page = await comment(web, path, debate, body)
    assert page.status == 200
    assert "<script>alert" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;" in page.text and 'href="javascript:' not in page.text
    assert '<a href="https://example.org" rel="nofollow ugc noopener">site</a>' in page.text
    # Stored as written: escaping is the renderer's job, so the API returns the author's text.
    assert (await comments_of(app, debate))[0].body == body


async def test_refused_input_stores_nothing(web, app):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    empty = await comment(web, path, debate, "   ")
    assert empty.status == 422 and "Write something before sending your comment." in empty.text
    long = await comment(web, path, debate, "x" * 5001)
    assert long.status == 422 and "at most 5000 characters; yours has 5001" in long.text
    missing_csrf = await web.post("/comments", {"commentable_type": "debate", "commentable_id": str(debate.id),
                                                "body": "Hi"}, csrf=False)
    assert missing_csrf.status == 403
    for kind, ident in (("debate", "999999"), ("nonsense", str(debate.id)), ("debate", "abc")):
        unknown = await web.post("/comments", {"commentable_type": kind, "commentable_id": ident, "body": "Hi"},
                                 csrf_from_path=path)
        assert unknown.status == 404, (kind, ident)
    foreign_parent = await comment(web, path, debate, "Hi", parent_id=424242)
    assert foreign_parent.status == 404
    assert await count(app, Comment) == 0 and await count(app, Event, Event.kind == "comment.created") == 0
    async with app[DB]() as db:
        assert (await db.get(Debate, debate.id)).comments_count == 0


async def test_anonymous_visitors_are_sent_to_log_in(web, app):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    sent = await comment(web, path, debate, "Hi", redirects=False)
    assert sent.status == 303 and sent.headers["Location"].startswith("/login?next=")
    assert await count(app, Comment) == 0


async def test_comments_on_unpublished_spaces_are_hidden(web, app):
    space, component, debate = await make_debate(app, published=False)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    refused = await web.post("/comments", {"commentable_type": "debate", "commentable_id": str(debate.id),
                                           "body": "Hi"}, csrf_from_path="/")
    assert refused.status == 404
    assert (await web.get(path)).status == 404
    assert await count(app, Comment) == 0
