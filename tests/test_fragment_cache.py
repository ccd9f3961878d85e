"""Kept fragments (node.web.render.fragment): a proposal's card and a comment are rendered once and
shared by every visitor they look the same to, so the cache must never show one resident what
belongs to another (their support, their vote, their edit links, their CSRF token), nor anything
outdated."""
from __future__ import annotations

import re

import aiohttp_jinja2
import pytest
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import make_mocked_request

from node.appkeys import DB
from node.db.base import utcnow
from node.groups.models import GroupMembership, UserGroup
from node.web.cache import FragmentCache
from node.web.render import FRAGMENTS
from tests.helpers import CSRF_RE, WebClient
from tests.proposals_fixtures import list_path, make_proposal, proposal_path, space_with_component
from tests.spaces_support import log_in, make_user
from tests.test_comments import second_browser


def card(page: str, space, proposal) -> str:
    """The list's card of `proposal`."""
    href = re.escape(f'href="{proposal_path(space, proposal.id)}"')
    match = re.search(r'<li class="card">\s*<h2 class="card-title"><a ' + href + r'.*?</li>', page, re.S)
    assert match, f"no card for proposal {proposal.id}"
    return match.group(0)


def article(page: str, comment_id: int) -> str:
    match = re.search(rf'<article id="comment-{comment_id}".*?</article>', page, re.S)
    assert match, f"no comment {comment_id} on the page"
    return match.group(0)


def pressed(html: str) -> list[str]:
    """The vote buttons shown pressed in a comment: ["Agree"], ["Disagree"] or []."""
    return re.findall(r'aria-pressed="true">(\w+) <span', html)


def tokens(page: str) -> set[str]:
    return set(CSRF_RE.findall(page))


async def comment_on(client, space, proposal, body: str) -> int:
    path = proposal_path(space, proposal.id)
    sent = await client.post("/comments", {"commentable_type": "proposal", "commentable_id": str(proposal.id),
                                           "body": body}, csrf_from_path=path, allow_redirects=False)
    assert sent.status == 303, sent.text[:300]
    return int(sent.headers["Location"].rsplit("#comment-", 1)[1])


async def post(client, space, proposal, path: str, data: dict | None = None) -> None:
    page = await client.post(path, data or {}, csrf_from_path=proposal_path(space, proposal.id))
    assert page.status == 200, page.text[:300]


async def test_two_residents_each_see_their_own_supports_votes_and_links(web, app, server):
    space, component, _ = await space_with_component(app, support_threshold=10)
    carla = await make_user(app, "carla")
    first = await make_proposal(app, space, component, carla, title="Benches in the park")
    second = await make_proposal(app, space, component, carla, title="Trees on the square")
    amelie = await log_in(web, app, "amelie")
    async with second_browser(server, app, "jordi") as (jordi, _user):
        base = proposal_path(space, first.id)
        await post(web, space, first, f"{base}/support")
        await post(jordi, space, second, f"{proposal_path(space, second.id)}/support")
        by_amelie = await comment_on(web, space, first, "Facing the sun, please.")
        by_jordi = await comment_on(jordi, space, first, "And some shade too.")
        async with second_browser(server, app, "carla_writes") as (carla_writes, _):
            by_third = await comment_on(carla_writes, space, first, "Benches with backs.")
        # Amélie may publish on behalf of a group: her reply forms offer it, Jordi's never do,
        # although the third person's comment looks the same to both of them otherwise.
        async with app[DB].begin() as db:
            group = UserGroup(name="Friends of the park", nickname="parkfriends", verified_at=utcnow())
            db.add(group)
            await db.flush()
            db.add(GroupMembership(group_id=group.id, user_id=amelie.id, role="admin", status="accepted"))
        await post(web, space, first, f"/comments/{by_jordi}/vote", {"value": "up"})
        await post(jordi, space, first, f"/comments/{by_amelie}/vote", {"value": "down"})

        cache = app[FRAGMENTS]
        hits = cache.hits
        # Each page twice per person, one after the other: the second ones come from the cache,
        # the other person's entries included where they are the same HTML.
        for _ in range(2):
            amelie_list, jordi_list = (await web.get(list_path(space, component))).text, \
                (await jordi.get(list_path(space, component))).text
            amelie_page, jordi_page = (await web.get(base)).text, (await jordi.get(base)).text
            # Supports: each their own.
            assert "/unsupport" in card(amelie_list, space, first) and "Remove my support" in card(amelie_list, space, first)
            assert f'{proposal_path(space, second.id)}/support"' in card(amelie_list, space, second)
            assert f'{proposal_path(space, first.id)}/support"' in card(jordi_list, space, first)
            assert "/unsupport" in card(jordi_list, space, second)
            assert "You support this proposal." in amelie_page and "You support this proposal." not in jordi_page
            assert "1 support" in card(amelie_list, space, first) and "1 support" in card(jordi_list, space, first)
            # Votes: each sees the one they gave, on the other's comment; none on their own.
            assert pressed(article(amelie_page, by_jordi)) == ["Agree"]
            assert pressed(article(jordi_page, by_amelie)) == ["Disagree"]
            assert "/vote" not in article(amelie_page, by_amelie) and "/vote" not in article(jordi_page, by_jordi)
            # Edit and delete links for one's own comment only; reports for the other's.
            assert f"/comments/{by_amelie}/edit" in amelie_page and f"/comments/{by_amelie}/edit" not in jordi_page
            assert f"/comments/{by_jordi}/edit" in jordi_page and f"/comments/{by_jordi}/edit" not in amelie_page
            assert f"/comments/{by_amelie}/delete" not in jordi_page
            assert f"subject_id={by_jordi}" in amelie_page and f"subject_id={by_jordi}" not in jordi_page
            assert f'id="reply-user-group-{by_third}"' in article(amelie_page, by_third)
            assert "user_group" not in article(jordi_page, by_third) and "user_group" not in jordi_page
            # Every form of a page carries its reader's token, never the other's.
            mine, theirs = tokens(amelie_list) | tokens(amelie_page), tokens(jordi_list) | tokens(jordi_page)
            assert len(mine) == 1 and len(theirs) == 1 and mine != theirs
        assert cache.hits > hits + 4, "the pages were not served from kept fragments"

        # A support changes the card: both see the new count at once (another key).
        await post(jordi, space, first, f"{base}/support")
        assert "2 supports" in card((await web.get(list_path(space, component))).text, space, first)
        # A vote changes the comment: everyone sees the new count at once (another key).
        await post(jordi, space, first, f"/comments/{by_amelie}/vote", {"value": "up", "seen": "down"})
        after = article((await web.get(base)).text, by_amelie)
        assert '<span class="vote-count">1</span> · ' in after and pressed(after) == []

    # An anonymous visitor, after both: the thread and the cards without anyone's forms.
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
        anonymous = WebClient(session, str(server.make_url("")).rstrip("/"))
        page = (await anonymous.get(base)).text
        assert "/vote" not in page and "/edit" not in page and "You support" not in page
        listed = (await anonymous.get(list_path(space, component))).text
        assert "/support" not in listed and "Remove my support" not in listed


async def test_a_comment_shows_its_change_and_the_authors_links_follow_the_edit_window(web, app, server):
    space, component, _ = await space_with_component(app)
    proposal = await make_proposal(app, space, component, await make_user(app, "carla"))
    await log_in(web, app, "amelie")
    path = proposal_path(space, proposal.id)
    written = await comment_on(web, space, proposal, "First words.")
    assert "First words." in article((await web.get(path)).text, written)
    await post(web, space, proposal, f"/comments/{written}/edit", {"body": "Second thoughts."})
    shown = article((await web.get(path)).text, written)
    assert "Second thoughts." in shown and "First words." not in shown and "comment-edited" in shown
    await post(web, space, proposal, f"/comments/{written}/delete")
    shown = article((await web.get(path)).text, written)
    assert "Comment deleted" in shown and "Second thoughts." not in shown and "/edit" not in shown


async def test_a_fragment_takes_only_values_compared_by_value(app, server):
    env = aiohttp_jinja2.get_env(app)
    request = make_mocked_request("GET", "/", app=app)
    template = env.from_string('{{ fragment("components/proposals/_card.html", row=row) }}')
    with pytest.raises(TypeError, match="row must compare by value"):
        template.render(request=request, row=object())  # an ORM object, a user…: never the same key


def test_the_fragment_cache_is_bounded_by_entries_and_bytes():
    cache = FragmentCache(max_entries=3, max_bytes=64 * 100)
    for n in range(5):
        cache.put(("k", n), ("x" * 10,))
    assert len(cache) == 3 and cache.get(("k", 0)) is None and cache.get(("k", 4)) == ("x" * 10,)
    cache.put(("big",), ("y" * 100, "z"))  # at most a 64th of the bytes each
    assert cache.get(("big",)) is None
    cache = FragmentCache(max_entries=100, max_bytes=64 * 10)
    for n in range(80):
        cache.put(("k", n), ("0123456789",))
    assert len(cache) == 64 and cache.get(("k", 79)) is not None
