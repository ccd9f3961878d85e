"""Bursts of concurrent writers (node.db.engine: on SQLite the writing sessions of a process take
turns on one lock and open their transaction with BEGIN IMMEDIATE): none fails with "database is
locked", read-then-write transactions count exactly, a writer that fails or is cancelled mid-way
lets the next ones through, and readers never wait for a writer."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientSession, CookieJar
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, update

from node.accounts.models import User, WebSession
from node.accounts.passwords import hash_password
from node.appkeys import DB, ENGINE
from node.db.writes import NestedWrite
from tests.helpers import WebClient
from tests.spaces_support import PASSWORD, make_space

LOGINS = 40
WRITERS = 60

counters = Table("test_write_counters", MetaData(), Column("id", Integer, primary_key=True),
                 Column("value", Integer, nullable=False))


async def _counter_table(app) -> None:
    async with app[ENGINE].begin() as conn:
        await conn.run_sync(counters.metadata.create_all)
        await conn.execute(insert(counters).values(id=1, value=0))


async def _count(app) -> int:
    async with app[DB]() as db:
        return await db.scalar(select(counters.c.value).where(counters.c.id == 1))


async def _increment(app) -> None:
    """Read, then write what was read plus one: exact only if no other writer came in between.
    FOR UPDATE is how PostgreSQL keeps it exact; SQLite ignores it and relies on the writer's
    transaction holding the write lock from its first statement."""
    async with app[DB].begin() as db:
        value = await db.scalar(select(counters.c.value).where(counters.c.id == 1).with_for_update())
        await db.scalar(select(func.count()).select_from(User))  # another turn of the event loop
        await db.execute(update(counters).where(counters.c.id == 1).values(value=value + 1))


async def test_forty_residents_log_in_at_once_and_none_fails(server, app):
    password_hash = await asyncio.to_thread(hash_password, PASSWORD)  # once: argon2 is slow
    async with app[DB].begin() as db:
        db.add_all(User(username=f"resident{n}", email=f"resident{n}@example.org", password_hash=password_hash,
                        nickname=f"Resident {n}", role="user") for n in range(LOGINS))
    base = str(server.make_url("")).rstrip("/")
    clients = [WebClient(ClientSession(cookie_jar=CookieJar(unsafe=True)), base) for _ in range(LOGINS + 3)]
    try:
        pages = await asyncio.gather(
            *(client.login(f"resident{n}", PASSWORD) for n, client in enumerate(clients[:LOGINS])),
            # Wrong passwords write a login_attempts row (three: under the address's limit of five).
            *(client.login(f"resident{n}", "not the password") for n, client in enumerate(clients[LOGINS:])))
    finally:
        for client in clients:
            await client.session.close()
    # Logged in: the redirect (303) is followed to a page with a logout button; refused: the form again.
    assert [p.status for p in pages] == [200] * LOGINS + [422] * 3, [p.text[-300:] for p in pages if p.status == 500]
    assert all("/logout" in page.text for page in pages[:LOGINS])
    assert not any("/logout" in page.text for page in pages[LOGINS:])
    async with app[DB]() as db:
        assert await db.scalar(select(func.count(func.distinct(WebSession.user_id)))) == LOGINS
        assert await db.scalar(select(func.count()).select_from(User).where(User.last_login_at.is_not(None))) == LOGINS


async def test_sixty_read_then_write_transactions_at_once_count_exactly(app):
    await _counter_table(app)
    await asyncio.gather(*(_increment(app) for _ in range(WRITERS)))
    assert await _count(app) == WRITERS


class Crash(Exception):
    pass


async def test_a_writer_that_fails_or_is_cancelled_mid_way_lets_the_next_ones_write(app):
    await _counter_table(app)
    with pytest.raises(Crash):
        async with app[DB].begin() as db:
            await db.execute(update(counters).values(value=1000))
            raise Crash()

    inside = asyncio.Event()

    async def stuck_writer():
        async with app[DB].begin() as db:
            await db.execute(update(counters).values(value=2000))
            inside.set()
            await asyncio.Event().wait()  # never set: only the cancellation ends it

    stuck = asyncio.create_task(stuck_writer())
    await inside.wait()
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    async with asyncio.timeout(20):  # a turn never given back would block them for good
        await asyncio.gather(*(_increment(app) for _ in range(10)))
    assert await _count(app) == 10  # neither the failed nor the cancelled update is there


async def test_readers_do_not_wait_for_a_writer(web, app):
    await _counter_table(app)
    await make_space(app)
    written, done = asyncio.Event(), asyncio.Event()

    async def long_writer():
        async with app[DB].begin() as db:
            await db.execute(update(counters).values(value=7))
            written.set()
            await done.wait()

    writer = asyncio.create_task(long_writer())
    try:
        await written.wait()
        async with asyncio.timeout(10):
            page = await web.get("/spaces/budget-2027")
            assert await _count(app) == 0  # the uncommitted write is not seen
        assert page.status == 200 and "Space budget-2027" in page.text
        assert not writer.done()
    finally:
        done.set()
        await writer
    assert await _count(app) == 7


async def test_a_writing_session_opened_inside_another_by_the_same_task_does_not_wait_for_it(app):
    await _counter_table(app)
    async with asyncio.timeout(10):
        async with app[DB].begin() as outer:
            async with app[DB].begin() as inner:  # before the outer one ran a statement
                await inner.execute(update(counters).values(value=1))
            value = await outer.scalar(select(counters.c.value).with_for_update())
            await outer.execute(update(counters).values(value=value + 1))
    assert await _count(app) == 2


async def test_a_writing_session_opened_inside_one_that_began_fails_at_once_and_spoils_nothing(app):
    """On SQLite the outer transaction holds the write lock from its first statement: an inner one
    would wait for its own task until busy_timeout; it is refused at once, naming the mistake, and
    the outer one still commits. PostgreSQL has no such lock: there the inner one simply runs."""
    await _counter_table(app)
    sqlite = app[ENGINE].dialect.name == "sqlite"
    async with asyncio.timeout(10):
        async with app[DB].begin() as outer:
            for _ in range(2):  # the outer one has not begun: allowed, one after the other
                async with app[DB].begin() as early:
                    await early.execute(update(counters).values(value=1))
            await outer.execute(update(counters).values(value=counters.c.value + 1))
            try:
                async with app[DB].begin() as inner:
                    await inner.execute(insert(counters).values(id=2, value=40))
            except NestedWrite as exc:
                assert sqlite and "write in the outer session" in str(exc)
            else:
                assert not sqlite, "a nested writing transaction was let through on SQLite"
        # The turn is free again, and counts no open transaction.
        async with app[DB].begin():
            async with app[DB].begin() as first:
                await first.execute(update(counters).where(counters.c.id == 1).values(value=counters.c.value + 1))
    assert await _count(app) == 3
    async with app[DB]() as db:
        assert await db.scalar(select(func.count()).select_from(counters)) == (1 if sqlite else 2)
