"""The proposal list (filters, orders, pages, constant number of SQL statements) and the
results-visibility policy on every surface: list, page, JSON API and sort orders."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event, insert, update

from node.appkeys import DB, ENGINE
from node.components.proposals.models import Proposal, Support
from tests.spaces_support import log_in, make_user, stop_background_work
from tests.proposals_fixtures import (
    list_path, make_proposal, proposal_path, set_settings, space_with_component,
)


def titles(page_text: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="[^"]+">([^<]+)</a>', page_text)


async def seed(app, space, component, author, n: int, supports: dict[int, int] | None = None):
    proposals = [await make_proposal(app, space, component, author, title=f"Proposal number {i:03d} for the town")
                 for i in range(n)]
    if supports:
        async with app[DB].begin() as db:
            for index, amount in supports.items():
                await db.execute(update(Proposal).where(Proposal.id == proposals[index].id)
                                 .values(support_count=amount))
    return proposals


async def test_filters_orders_and_pages(web, app):
    space, component, _ = await space_with_component(app)
    author = await log_in(web, app, "amelie")
    other = await make_user(app, "jordi")
    proposals = await seed(app, space, component, other, 23, supports={5: 9, 7: 4})
    mine = await make_proposal(app, space, component, author, title="My own proposal for the town", category="Trees")
    async with app[DB].begin() as db:
        await db.execute(update(Proposal).where(Proposal.id == proposals[3].id)
                         .values(state="accepted", comments_count=7))
    base = list_path(space, component)
    first = await web.get(base)
    assert "24 proposals" in first.text and "page 1 of 2" in first.text and len(titles(first.text)) == 20
    assert titles(first.text)[0] == "My own proposal for the town"  # most recent first
    assert 'rel="next"' in first.text
    second = await web.get(base + "?page=2")
    assert len(titles(second.text)) == 4 and set(titles(first.text)).isdisjoint(titles(second.text))
    top = titles((await web.get(base + "?order=most_supported")).text)
    assert top[:2] == ["Proposal number 005 for the town", "Proposal number 007 for the town"]
    assert titles((await web.get(base + "?order=most_commented")).text)[0] == "Proposal number 003 for the town"
    assert titles((await web.get(base + "?state=accepted")).text) == ["Proposal number 003 for the town"]
    assert titles((await web.get(base + "?category=Trees")).text) == ["My own proposal for the town"]
    assert titles((await web.get(base + "?mine=1")).text) == ["My own proposal for the town"]
    assert mine.id
    # Nonsense parameters fall back to defaults instead of failing.
    assert (await web.get(base + "?page=abc&order=evil&state=nope")).status == 200


async def test_random_order_is_stable_per_seed(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    await seed(app, space, component, author, 25)
    base = list_path(space, component)
    one = titles((await web.get(base + "?order=random&seed=abc")).text)
    assert one == titles((await web.get(base + "?order=random&seed=abc")).text)
    assert one != titles((await web.get(base + "?order=random&seed=xyz")).text)
    everything = one + titles((await web.get(base + "?order=random&seed=abc&page=2")).text)
    assert len(set(everything)) == 25
    # Without a seed, the visitor gets one in a cookie and keeps their order.
    first = titles((await web.get(base + "?order=random")).text)
    assert first == titles((await web.get(base + "?order=random")).text)


@pytest.mark.parametrize("logged_in", [False, True])
async def test_the_list_page_costs_the_same_number_of_statements_for_5_or_50(web, app, logged_in):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    if logged_in:
        await log_in(web, app, "jordi")
    statements: list[str] = []

    def count_statement(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = app[ENGINE].sync_engine
    figures = {}
    await stop_background_work(app)
    proposals = await seed(app, space, component, author, 5)
    for size in (5, 50):
        if size == 50:
            proposals += await seed(app, space, component, author, 45)
            async with app[DB].begin() as db:
                await db.execute(insert(Support), [{"proposal_id": p.id, "user_id": author.id,
                                                    "component_id": component.id, "counted": True}
                                                   for p in proposals if p.id % 2])
        for order in ("recent", "most_supported", "random", "most_commented"):
            event.listen(engine, "before_cursor_execute", count_statement)
            try:
                page = await web.get(list_path(space, component) + f"?order={order}&seed=s")
            finally:
                event.remove(engine, "before_cursor_execute", count_statement)
            assert page.status == 200
            figures[(size, order)] = len(statements)
            last = list(statements)
            statements.clear()
    # session + user (logged in), space, component, active phase, count, page, own supports
    # (logged in), categories in use.
    for order in ("recent", "most_supported", "random", "most_commented"):
        assert figures[(5, order)] == figures[(50, order)], figures
        assert figures[(50, order)] <= (9 if logged_in else 6), (figures, last)


async def test_counts_hidden_until_supports_close(web, app):
    space, component, phases = await space_with_component(app, phases=2, results_visibility="after_supports")
    author = await make_user(app, "amelie")
    proposals = await seed(app, space, component, author, 3, supports={0: 4217})
    await set_settings(app, component, support_phases=[phases[0].id], support_threshold=100)
    await log_in(web, app, "alice_admin", role="admin")  # not even administrators see them
    await assert_counts_hidden(web, space, component, proposals)
    await set_settings(app, component, support_phases=[phases[1].id])  # supports closed now
    await assert_counts_shown(web, space, component, proposals)


async def test_counts_for_admins_only(web, app):
    space, component, _ = await space_with_component(app, results_visibility="admins")
    author = await make_user(app, "amelie")
    proposals = await seed(app, space, component, author, 3, supports={0: 4217})
    await log_in(web, app, "jordi")
    await assert_counts_hidden(web, space, component, proposals)
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "alice_admin", role="admin")
    page = await web.get(proposal_path(space, proposals[0].id))
    assert "4217 supports" in page.text
    ordered = await web.get(list_path(space, component) + "?order=most_supported")
    assert titles(ordered.text)[0] == "Proposal number 000 for the town"
    # The public API has no administrators: counts stay out of it.
    api = json.loads((await web.get(f"/api/proposals/{proposals[0].id}")).text)
    assert "support_count" not in api


def without_hashes(text: str) -> str:
    return re.sub(r'<code class="hash">.*?</code>|<pre class="(canonical|command)">.*?</pre>', "", text, flags=re.S)


async def assert_counts_hidden(web, space, component, proposals):
    listing = await web.get(list_path(space, component))
    assert "4217" not in without_hashes(listing.text) and "<progress" not in listing.text
    assert "Support counts are not shown at this stage." in listing.text
    assert 'value="most_supported"' not in listing.text
    # Asking for the order anyway gives the recent order, which says nothing about counts.
    ordered = await web.get(list_path(space, component) + "?order=most_supported")
    assert titles(ordered.text)[0] == "Proposal number 002 for the town"
    page = await web.get(proposal_path(space, proposals[0].id))
    assert "4217" not in without_hashes(page.text) and "<progress" not in page.text
    api = json.loads((await web.get(f"/api/proposals/{proposals[0].id}")).text)
    assert "support_count" not in api
    items = json.loads((await web.get(f"/api/spaces/{space.slug}/proposals")).text)["items"]
    assert items and all("support_count" not in item for item in items)


async def assert_counts_shown(web, space, component, proposals):
    listing = await web.get(list_path(space, component))
    assert "4217 supports" in listing.text and "<progress" in listing.text
    ordered = await web.get(list_path(space, component) + "?order=most_supported")
    assert titles(ordered.text)[0] == "Proposal number 000 for the town"
    api = json.loads((await web.get(f"/api/proposals/{proposals[0].id}")).text)
    assert api["support_count"] == 4217
