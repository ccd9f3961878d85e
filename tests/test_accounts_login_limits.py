"""Login throttling: per account and per client address, cleared by a success, bounded in time."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from node.accounts.models import LoginAttempt
from node.appkeys import DB, SETTINGS
from node.db.base import utcnow
from tests.test_accounts import PASSWORD, register


@pytest.fixture
def strict(app):
    app[SETTINGS].login_max_failures = 3
    app[SETTINGS].login_window_seconds = 900
    return app


async def attempt(web, username, password, address="127.0.0.1"):
    # The test client connects from 127.0.0.1, a trusted proxy address, so X-Forwarded-For
    # stands for the client address the way nginx would pass it.
    return await web.post("/login", {"username": username, "password": password},
                          csrf_from_path="/login", headers={"X-Forwarded-For": address},
                          allow_redirects=False)


async def two_accounts(web):
    await register(web)
    await web.post("/logout", csrf_from_path="/")
    await register(web, username="bob", email="bob@example.org", nickname="Bob")
    await web.post("/logout", csrf_from_path="/")


async def test_account_is_locked_after_failures_from_many_addresses(web, strict):
    await two_accounts(web)
    for i in range(3):
        page = await attempt(web, "alice", "wrong password", f"203.0.113.{i}")
        assert page.status == 422
    locked = await attempt(web, "alice", PASSWORD, "198.51.100.1")
    assert locked.status == 429
    assert "Too many failed log-in attempts. Wait 15 minutes" in locked.text
    assert 840 < int(locked.headers["Retry-After"]) <= 900
    assert "civicnode_session" not in locked.headers.get("Set-Cookie", "")
    # The same account by its email address is the same account.
    assert (await attempt(web, "alice@example.org", PASSWORD, "198.51.100.2")).status == 429
    # Other people are not affected.
    assert (await attempt(web, "bob", PASSWORD, "198.51.100.1")).status == 303


async def test_address_is_locked_after_failures_on_many_accounts(web, strict):
    await two_accounts(web)
    for name in ("carol", "dave", "alice"):
        assert (await attempt(web, name, "wrong password", "192.0.2.50")).status == 422
    assert (await attempt(web, "bob", PASSWORD, "192.0.2.50")).status == 429
    assert (await attempt(web, "bob", PASSWORD, "192.0.2.51")).status == 303


async def test_unknown_accounts_are_throttled_like_real_ones(web, strict):
    for i in range(3):
        assert (await attempt(web, "ghost", "wrong password", f"203.0.113.{i}")).status == 422
    assert (await attempt(web, "ghost", "wrong password", "203.0.113.99")).status == 429


async def test_success_clears_the_accounts_failures(web, strict):
    await two_accounts(web)
    for _round in range(2):
        for _ in range(2):
            assert (await attempt(web, "alice", "wrong password")).status == 422
        assert (await attempt(web, "alice", PASSWORD)).status == 303
        await web.post("/logout", csrf_from_path="/")
    async with strict[DB]() as db:
        assert await db.scalar(select(func.count()).select_from(LoginAttempt)
                               .where(LoginAttempt.username == "alice")) == 0


async def test_lock_ends_when_the_window_has_passed(web, strict):
    await two_accounts(web)
    for _ in range(3):
        await attempt(web, "alice", "wrong password")
    assert (await attempt(web, "alice", PASSWORD)).status == 429
    async with strict[DB].begin() as db:
        await db.execute(update(LoginAttempt).values(attempted_at=utcnow() - timedelta(seconds=901)))
    assert (await attempt(web, "alice", PASSWORD)).status == 303


async def test_untrusted_peers_cannot_choose_their_address(web, strict):
    strict[SETTINGS].trusted_proxies = []
    for i in range(3):
        await attempt(web, f"user{i}", "wrong password", f"203.0.113.{i}")
    # Every attempt really came from 127.0.0.1, whatever the header said.
    assert (await attempt(web, "someone", "wrong password", "203.0.113.77")).status == 429
