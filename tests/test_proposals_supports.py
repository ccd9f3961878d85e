"""Supports: one per person (the unique constraint decides, also under concurrency), phases,
blocking, maximum and minimum per person, threshold, frozen proposals."""
from __future__ import annotations

import asyncio

from aiohttp import ClientSession, CookieJar
from sqlalchemy import func, select, update

from node.appkeys import DB
from node.components.proposals.models import Proposal, Support
from node.components.proposals.supports import add_support, recount_supports, remove_support
from node.components.proposals.service import ProposalError
from node.spaces.models import Component
from tests.helpers import WebClient, csrf_from
from tests.spaces_support import PASSWORD, count, log_in, make_user
from tests.proposals_fixtures import (
    make_proposal, proposal_path, set_settings, space_with_component,
)


async def support(web, space, proposal, action="support"):
    path = proposal_path(space, proposal.id)
    return await web.post(f"{path}/{action}", {}, csrf_from_path=path)


async def stored(app, proposal_id):
    async with app[DB]() as db:
        column = await db.scalar(select(Proposal.support_count).where(Proposal.id == proposal_id))
        rows = await db.scalar(select(func.count()).select_from(Support).where(Support.proposal_id == proposal_id))
    return column, rows


async def test_support_then_twice_then_remove(web, app):
    space, component, _ = await space_with_component(app, support_threshold=10)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    await log_in(web, app, "jordi")
    page = await support(web, space, proposal)
    assert page.status == 200 and "your support is recorded" in page.text
    assert "1 support" in page.text and "1 of the 10 needed" in page.text and '<progress class="threshold" max="10" value="1"' in page.text
    twice = await support(web, space, proposal)
    assert twice.status == 409 and "You already support this proposal." in twice.text
    assert await stored(app, proposal.id) == (1, 1)
    page = await support(web, space, proposal, "unsupport")
    assert "Your support is removed." in page.text and await stored(app, proposal.id) == (0, 0)
    again = await support(web, space, proposal, "unsupport")
    assert again.status == 409 and "You do not support this proposal." in again.text


async def test_supports_closed_blocked_or_disabled(web, app):
    space, component, phases = await space_with_component(app, phases=2)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    await log_in(web, app, "jordi")
    # Open only in phase 2 while phase 1 is the active one.
    await set_settings(app, component, support_phases=[phases[1].id])
    page = await support(web, space, proposal)
    assert page.status == 403 and "Supports are not open in the current phase" in page.text
    shown = await web.get(proposal_path(space, proposal.id))
    assert "Supports are not open in the current phase." in shown.text and "/support\"" not in shown.text
    await set_settings(app, component, support_phases=[phases[0].id], supports_blocked=True)
    page = await support(web, space, proposal)
    assert page.status == 403 and "Supports are blocked" in page.text
    await set_settings(app, component, supports_blocked=False, supports_enabled=False)
    page = await support(web, space, proposal)
    assert page.status == 403 and "does not take supports" in page.text
    assert await stored(app, proposal.id) == (0, 0)
    await set_settings(app, component, supports_enabled=True)
    assert (await support(web, space, proposal)).status == 200


async def test_maximum_supports_per_person(web, app):
    space, component, _ = await space_with_component(app, max_supports_per_user=2)
    author = await make_user(app, "amelie")
    proposals = [await make_proposal(app, space, component, author, title=f"Proposal number {n} for the town")
                 for n in range(3)]
    await log_in(web, app, "jordi")
    assert (await support(web, space, proposals[0])).status == 200
    page = await support(web, space, proposals[1])
    assert "You have given 2 of your 2 supports." in page.text
    page = await support(web, space, proposals[2])
    assert page.status == 409 and "You have given all your 2 supports in this component." in page.text
    assert await count(app, Support) == 2
    await support(web, space, proposals[0], "unsupport")
    assert (await support(web, space, proposals[2])).status == 200


async def test_withdrawn_and_rejected_proposals_take_no_support(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    withdrawn = await make_proposal(app, space, component, author, title="A withdrawn proposal for the town")
    rejected = await make_proposal(app, space, component, author, title="A rejected proposal for the town")
    async with app[DB].begin() as db:
        await db.execute(update(Proposal).where(Proposal.id == withdrawn.id).values(state="withdrawn"))
        await db.execute(update(Proposal).where(Proposal.id == rejected.id).values(state="rejected"))
    await log_in(web, app, "jordi")
    page = await support(web, space, withdrawn)
    assert page.status == 409 and "withdrawn by its author: its supports are frozen" in page.text
    page = await support(web, space, rejected)
    assert page.status == 409 and "was rejected" in page.text
    assert await count(app, Support) == 0


async def test_supports_below_the_minimum_do_not_count(app, server):
    space, component, _ = await space_with_component(app, minimum_supports_per_user=3)
    author = await make_user(app, "amelie")
    voter = await make_user(app, "jordi")
    proposals = [await make_proposal(app, space, component, author, title=f"Proposal number {n} for the town")
                 for n in range(4)]

    async def act(fn, proposal):
        async with app[DB].begin() as db:
            await fn(db, proposal.id, voter, None)

    async def counts():
        return [(await stored(app, p.id))[0] for p in proposals]

    await act(add_support, proposals[0])
    await act(add_support, proposals[1])
    assert await counts() == [0, 0, 0, 0] and await count(app, Support) == 2
    await act(add_support, proposals[2])  # reaches the minimum: all three count
    assert await counts() == [1, 1, 1, 0]
    await act(add_support, proposals[3])
    assert await counts() == [1, 1, 1, 1]
    await act(remove_support, proposals[3])
    assert await counts() == [1, 1, 1, 0]
    await act(remove_support, proposals[0])  # below the minimum again: none counts
    assert await counts() == [0, 0, 0, 0] and await count(app, Support) == 2
    # An admin lowers the minimum: a recount makes the kept supports count.
    await set_settings(app, component, minimum_supports_per_user=2)
    async with app[DB].begin() as db:
        await recount_supports(db, await db.get(Component, component.id))
    assert await counts() == [0, 1, 1, 0]


async def test_service_refusals_write_nothing(app, server):
    space, component, _ = await space_with_component(app, supports_blocked=True)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    try:
        async with app[DB].begin() as db:
            await add_support(db, proposal.id, author, None)
    except ProposalError as exc:
        assert exc.status == 403
    else:
        raise AssertionError("blocked supports were accepted")
    assert await count(app, Support) == 0


async def logged_in_client(base: str, username: str) -> WebClient:
    session = ClientSession(cookie_jar=CookieJar(unsafe=True))
    client = WebClient(session, base)
    page = await client.login(username, PASSWORD)
    assert page.status == 200
    return client


async def test_concurrent_supports_from_distinct_and_identical_people(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    path = proposal_path(space, proposal.id)
    clients = []
    try:
        for n in range(30):
            await make_user(app, f"voter{n}")
            clients.append(await logged_in_client(web.base, f"voter{n}"))
        tokens = [csrf_from((await c.get(path)).text) for c in clients]
        pages = await asyncio.gather(*(c.post(path + "/support", {}, csrf=t) for c, t in zip(clients, tokens)))
        assert [p.status for p in pages] == [200] * 30
        assert await stored(app, proposal.id) == (30, 30)

        # One person, ten simultaneous clicks.
        await make_user(app, "clicker")
        clicker = await logged_in_client(web.base, "clicker")
        clients.append(clicker)
        token = csrf_from((await clicker.get(path)).text)
        pages = await asyncio.gather(*(clicker.post(path + "/support", {}, csrf=token) for _ in range(10)))
        statuses = sorted(p.status for p in pages)
        assert statuses == [200] + [409] * 9, statuses
        assert all("You already support this proposal." in p.text for p in pages if p.status == 409)
        assert await stored(app, proposal.id) == (31, 31)
    finally:
        for client in clients:
            await client.session.close()
