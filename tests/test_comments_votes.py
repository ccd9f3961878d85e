"""Votes on comments (toggle, switch, no self-vote, concurrent clicks), orderings, alignment,
and the cost of a thread: the number of SQL statements does not grow with the comments."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp.test_utils import make_mocked_request
from sqlalchemy import event, select

from node.appkeys import DB, ENGINE
from node.components.comments import CommentTarget, load_thread, register_commentable
from node.components.comments.models import Comment, CommentVote
from node.components.comments.service import create_comment, vote
from node.db.base import utcnow
from node.web.render import render
from tests.helpers import csrf_from
from tests.spaces_support import count, log_in, make_user, stop_background_work
from tests.test_comments import comment, comments_of, make_debate, page_path, second_browser


async def _vote(client, path, comment_id, value, seen=None, *, csrf=None):
    data = {"value": value}
    if seen is not None:
        data["seen"] = seen
    return await client.post(f"/comments/{comment_id}/vote", data, csrf=csrf,
                             csrf_from_path=None if csrf else path)


async def _counts(app, comment_id):
    async with app[DB]() as db:
        row = await db.get(Comment, comment_id)
        votes = (await db.scalars(select(CommentVote.value).where(CommentVote.comment_id == comment_id))).all()
    return row.up_votes, row.down_votes, sorted(votes)


async def test_votes_toggle_switch_and_refuse_self_votes(web, app, server):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    await comment(web, path, debate, "Vote on me.")
    (target,) = await comments_of(app, debate)
    own = await _vote(web, path, target.id, "up")
    assert own.status == 403 and "You cannot vote on your own comment." in own.text
    assert await _counts(app, target.id) == (0, 0, [])
    async with second_browser(server, app, "jordi") as (other, _user):
        page = await _vote(other, path, target.id, "up")
        assert page.status == 200 and 'aria-pressed="true">Agree <span class="vote-count">1</span>' in page.text
        assert await _counts(app, target.id) == (1, 0, [1])
        await _vote(other, path, target.id, "down")  # switch
        assert await _counts(app, target.id) == (0, 1, [-1])
        await _vote(other, path, target.id, "down")  # same value again: removed
        assert await _counts(app, target.id) == (0, 0, [])
        bad = await _vote(other, path, target.id, "sideways")
        assert bad.status == 422 and await count(app, CommentVote) == 0


async def test_concurrent_double_clicks_store_one_vote(web, app, server):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    await comment(web, path, debate, "Click me many times.")
    (target,) = await comments_of(app, debate)
    async with second_browser(server, app, "jordi") as (other, _user):
        token = csrf_from((await other.get(path)).text)
        pages = await asyncio.gather(*(_vote(other, path, target.id, "up", "none", csrf=token) for _ in range(8)))
        assert all(p.status == 200 for p in pages)
        assert await _counts(app, target.id) == (1, 0, [1])
        # Without the page's state the second request of a pair toggles back: still never two rows.
        pages = await asyncio.gather(*(_vote(other, path, target.id, "down", csrf=token) for _ in range(5)))
        up, down, rows = await _counts(app, target.id)
        assert len(rows) <= 1 and (up, down) == (rows.count(1), rows.count(-1))


async def test_concurrent_votes_of_many_people_are_all_counted(app, server):
    space, component, debate = await make_debate(app)
    author = await make_user(app, "amelie")
    voters = [await make_user(app, f"voter{n}") for n in range(12)]
    async with app[DB].begin() as db:
        from node.components.debates.service import load_debate_target

        target = await load_debate_target(db, debate.id)
        created = await create_comment(db, target, commentable_type="debate", commentable_id=debate.id,
                                       author=author, body="Popular")

    async def one(voter, value):
        async with app[DB].begin() as db:
            await vote(db, target, await db.get(Comment, created.id), voter, value, 0)

    await asyncio.gather(*(one(v, 1 if n % 3 else -1) for n, v in enumerate(voters)))
    assert await _counts(app, created.id) == (8, 4, [-1] * 4 + [1] * 8)


async def _seed_thread(app, debate, size: int, viewer=None):
    """`size` comments: a third roots, the rest replies, with varied votes and times."""
    from node.components.debates.service import load_debate_target

    people = [await make_user(app, f"person{debate.id}_{n}") for n in range(3)]
    start = utcnow() - timedelta(days=1)
    async with app[DB].begin() as db:
        target = await load_debate_target(db, debate.id)
        made: list[Comment] = []
        for n in range(size):
            parent = made[(n - 1) // 2] if n % 3 and made else None
            if parent is not None and parent.depth >= 3:
                parent = None
            row = await create_comment(db, target, commentable_type="debate", commentable_id=debate.id,
                                       author=people[n % 3], body=f"Comment number {n}",
                                       parent_id=parent.id if parent else None)
            row.created_at = start + timedelta(minutes=n)
            made.append(row)
            if viewer is not None and n % 2:
                await vote(db, target, row, viewer, 1 if n % 4 == 1 else -1)
            for voter in people[: n % 3]:
                if voter.id != row.author_id:
                    await vote(db, target, row, voter, 1)
    return made


async def test_orderings_apply_to_roots_and_replies(app, server):
    space, component, debate = await make_debate(app)
    a, b, c = [await make_user(app, name) for name in ("ana", "bea", "cai")]
    from node.components.debates.service import load_debate_target

    start = utcnow() - timedelta(hours=1)
    async with app[DB].begin() as db:
        target = await load_debate_target(db, debate.id)

        async def add(author, body, minutes, parent=None):
            row = await create_comment(db, target, commentable_type="debate", commentable_id=debate.id,
                                       author=author, body=body, parent_id=parent.id if parent else None)
            row.created_at = start + timedelta(minutes=minutes)
            await db.flush()
            return row

        first = await add(a, "first", 0)
        second = await add(b, "second", 1)
        third = await add(c, "third", 2)
        r1 = await add(b, "reply 1", 3, first)
        r2 = await add(c, "reply 2", 4, first)
        await vote(db, target, second, a, 1)
        await vote(db, target, second, c, 1)
        await vote(db, target, third, a, 1)
        await vote(db, target, first, b, -1)
        await vote(db, target, r2, a, 1)
    async with app[DB]() as db:
        def shape(thread):
            return [(n.comment.body, [k.comment.body for k in n.children]) for n in thread]

        assert shape(await load_thread(db, "debate", debate.id, "older")) == [
            ("first", ["reply 1", "reply 2"]), ("second", []), ("third", [])]
        assert shape(await load_thread(db, "debate", debate.id, "recent")) == [
            ("third", []), ("second", []), ("first", ["reply 2", "reply 1"])]
        assert shape(await load_thread(db, "debate", debate.id, "best")) == [
            ("second", []), ("third", []), ("first", ["reply 2", "reply 1"])]
        mine = await load_thread(db, "debate", debate.id, "older", viewer=a)
        assert {n.comment.body: n.my_vote for n in mine} == {"first": 0, "second": 1, "third": 1}
    assert (r1.depth, r2.depth) == (1, 1)


async def test_the_page_follows_the_chosen_order(web, app):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    await log_in(web, app, "amelie")
    for body in ("Alpha comment", "Beta comment"):
        await comment(web, path, debate, body)
    older = (await web.get(path)).text
    recent = (await web.get(path + "?comments_order=recent")).text
    assert older.index("Alpha comment") < older.index("Beta comment")
    assert recent.index("Beta comment") < recent.index("Alpha comment")
    assert '<a href="?comments_order=recent#comments" aria-current="true">' in recent
    # Forms remember the order, so the redirect after posting keeps it.
    sent = await web.post("/comments", {"commentable_type": "debate", "commentable_id": str(debate.id),
                                        "body": "Gamma", "comments_order": "recent"},
                          csrf_from_path=path, allow_redirects=False)
    assert sent.headers["Location"].startswith(path + "?comments_order=recent#comment-")


async def test_the_number_of_queries_does_not_depend_on_the_number_of_comments(web, app):
    viewer = await log_in(web, app, "reader")
    await stop_background_work(app)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    counts = []
    for size, slug in ((3, "small-thread"), (30, "large-thread")):
        space, component, debate = await make_debate(app, slug=slug)
        await _seed_thread(app, debate, size, viewer)
        path = page_path(space, component, debate)
        event.listen(app[ENGINE].sync_engine, "before_cursor_execute", record)
        try:
            statements.clear()
            page = await web.get(path)
        finally:
            event.remove(app[ENGINE].sync_engine, "before_cursor_execute", record)
        assert page.status == 200 and page.text.count('<article id="comment-') == size
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts


async def test_alignment_is_stored_and_shown_as_text_where_the_type_supports_it(app, server):
    space, component, debate = await make_debate(app)
    author = await make_user(app, "amelie")

    async def load_aligned(db, ident):
        return CommentTarget(space_id=space.id, component_id=component.id, url="/somewhere",
                             supports_alignment=True) if ident == 1 else None

    register_commentable("aligned_test", load_aligned)
    from node.components.comments.registry import load_target
    from node.components.comments.service import CommentError

    async with app[DB].begin() as db:
        target = await load_target(db, "aligned_test", 1)
        against = await create_comment(db, target, commentable_type="aligned_test", commentable_id=1,
                                       author=author, body="No way", alignment="against")
        plain = await create_comment(db, target, commentable_type="aligned_test", commentable_id=1,
                                     author=author, body="Hmm")
        debate_target = await load_target(db, "debate", debate.id)
        on_debate = await create_comment(db, debate_target, commentable_type="debate", commentable_id=debate.id,
                                         author=author, body="Sides?", alignment="in_favor")
    assert (against.alignment, plain.alignment, on_debate.alignment) == ("against", "neutral", None)
    try:
        async with app[DB].begin() as db:
            await create_comment(db, target, commentable_type="aligned_test", commentable_id=1,
                                 author=author, body="x", alignment="maybe")
        raise AssertionError("an unknown alignment was accepted")
    except CommentError as exc:
        assert exc.status == 422
    assert await count(app, Comment) == 3

    async with app[DB]() as db:
        thread = await load_thread(db, "aligned_test", 1)
    request = make_mocked_request("GET", "/somewhere", app=app)
    html = render(request, "components/comments/thread.html", {
        "commentable_type": "aligned_test", "commentable_id": 1, "thread": thread, "order": "older",
        "thread_tree": tuple(node.subtree(None) for node in thread),
        "comment_orders": {"older": "Older first"}, "can_comment": True, "supports_alignment": True,
        "comments_count": 2}).text
    assert '<span class="alignment against">Against</span>' in html
    assert html.count('class="alignment ') == 1  # neutral comments carry no badge
    assert 'name="alignment" value="in_favor"' not in html  # anonymous: no form
