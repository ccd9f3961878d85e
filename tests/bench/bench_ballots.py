"""Checked-out ballots per second: 200 residents vote at once in a participatory budget, over
real HTTP, on a `civicnode serve` process with SQLite; then the count must be exact (issue 7).

Set-up, not timed: a space with a budgets component (budget_cap ballots, greedy rule), one
budget of 20 feasible projects, and 200 residents created directly in the database (the budget
has no postal codes and the component's `vote` permission admits any logged-in resident, so
nothing else is required). HTTP_LOGINS of them log in through the login form, to keep that path
honest; the others get their session in the database before the node starts, the very row a
login writes (node.accounts.forms.start_session, node.web.sessions): each login is an argon2
verification, slow by design, and 200 of them took 70-90 s of a 2-minute run.
Timed: the 200 vote concurrently, each as a browser would, with the real forms and their CSRF
tokens: open the budget page, add their projects one by one ("Add to my basket", a POST
answered by a redirect to the budget page, followed), open the checkout page and confirm it.
Baseline, same run, same 200 sessions at once: a trivial logged-in GET (`/account`), 5 each.

Then, with voting closed (results published): the public `ballots.json` must list exactly 200
ballots whose receipts are the 200 the voters were shown, the database must hold 200 cast
ballots and no basket, and each project's votes (results.json `score`, and the ballot items in
the database) must equal how many voters chose it. Any difference exits 1.

    CIVICNODE_BENCH_VOTERS=N (default 200)
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.nodeproc import start_serve  # noqa: E402

VOTERS = int(os.environ.get("CIVICNODE_BENCH_VOTERS", "200"))
PROJECTS, TOTAL, MAX_CHOICES = 20, 500_000, 5
BASELINE_PER_VOTER = 5
# Logins are set-up, not what is measured: a few at a time. Each is an argon2 verification, and
# with 16 at once on a loaded machine some failed with "database is locked" (the login's own
# write waited more than SQLite's 5 s busy timeout; not the budgets' code).
LOGIN_CONCURRENCY = 4
HTTP_LOGINS = 8
PASSWORD = "bench password 2027"
CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
RECEIPT_RE = re.compile(r'<code class="receipt" id="receipt">([0-9a-f]{64})</code>')


class NotExact(Exception):
    pass


async def seed(data: Path) -> tuple[str, dict[int, int], dict[int, str]]:
    """The budget's page path, {project id: cost}, and {voter: session cookie} of the voters
    who do not log in over HTTP."""
    from sqlalchemy import insert

    from node.accounts.models import User
    from node.accounts.passwords import hash_password
    from node.commands import initialise
    from node.components.budgets import service
    from node.db import make_engine, make_sessionmaker
    from node.spaces.service import add_component, create_space

    settings = await initialise(data, node_name="Bench", default_locale="en")
    engine = make_engine(settings.database_url)
    rng = random.Random(2027)
    try:
        async with make_sessionmaker(engine).begin() as db:
            space = await create_space(db, {"slug": "bench", "kind": "process", "published": True,
                                            "title": {"en": "Bench space"}}, default_locale="en")
            component = await add_component(db, space, "budgets", {"name": {"en": "Budgets"}, "settings": {
                "ballot_kind": "budget_cap", "rule": "greedy"}})
            budget = await service.create_budget(db, component, {
                "title": {"en": "District budget"}, "total": str(TOTAL), "currency": "EUR"}, language="en")
            costs = {}
            for n in range(PROJECTS):
                project = await service.create_project(db, budget, {
                    "title": {"en": f"Project {n}: benches and trees in street {n}"},
                    "cost": str(rng.randrange(40, 161) * 1000), "feasibility": "feasible"}, language="en")
                costs[project.id] = int(project.cost)
            path = f"/spaces/bench/c/{component.id}/budgets/{budget.id}"
        # One hash for all: the logins verify it, which is what they cost, not the seeding.
        password_hash = hash_password(PASSWORD)
        async with engine.begin() as conn:
            await conn.execute(insert(User), [
                {"username": f"voter{n}", "email": f"voter{n}@bench.example", "password_hash": password_hash,
                 "nickname": f"Voter {n}", "role": "user"} for n in range(VOTERS)])
        cookies = await seed_sessions(engine, settings.session_ttl_seconds, range(min(HTTP_LOGINS, VOTERS), VOTERS))
    finally:
        await engine.dispose()
    return path, costs, cookies


async def seed_sessions(engine, ttl: int, voters) -> dict[int, str]:
    """What a successful login writes for ``voter<n>``, without its argon2 verification: a
    ``web_sessions`` row keyed by the SHA-256 of a random cookie key, holding aiohttp-session's
    data ({"created", "session": {"user_id"}}), and the account's ``last_login_at``."""
    import secrets
    from datetime import timedelta

    from sqlalchemy import bindparam, insert, select, update

    from node.accounts.models import User, WebSession
    from node.db.base import utcnow
    from node.web.sessions import key_digest

    now = utcnow()
    async with engine.begin() as conn:
        ids = dict((await conn.execute(select(User.username, User.id))).all())
        cookies = {n: secrets.token_urlsafe(32) for n in voters}
        if not cookies:
            return cookies
        users = {n: ids[f"voter{n}"] for n in cookies}
        await conn.execute(insert(WebSession), [
            {"key": key_digest(key), "data": {"created": int(now.timestamp()), "session": {"user_id": users[n]}},
             "user_id": users[n], "expires_at": now + timedelta(seconds=ttl)} for n, key in cookies.items()])
        await conn.execute(update(User).where(User.id == bindparam("uid")).values(last_login_at=now),
                           [{"uid": uid} for uid in users.values()])
    return cookies


def choices_of(voter: int, costs: dict[int, int]) -> list[int]:
    """What a voter puts in the basket: up to MAX_CHOICES projects in a random order, each
    added only if it still fits in the budget."""
    rng = random.Random(voter)
    chosen, used = [], 0
    for project_id in rng.sample(sorted(costs), len(costs)):
        if used + costs[project_id] <= TOTAL:
            chosen.append(project_id)
            used += costs[project_id]
        if len(chosen) == MAX_CHOICES:
            break
    return chosen


async def log_in(session: aiohttp.ClientSession, base: str, username: str) -> None:
    async with session.get(base + "/login") as response:
        token = CSRF_RE.search(await response.text()).group(1)
    async with session.post(base + "/login", data={"username": username, "password": PASSWORD,
                                                  "_csrf": token}) as response:
        body = await response.text()
        if response.status != 200 or "/logout" not in body:
            raise RuntimeError(f"{username} could not log in: {response.status}")


async def logged_in(session: aiohttp.ClientSession, base: str, username: str) -> None:
    async with session.get(base + "/account") as response:
        body = await response.text()
        if response.status != 200 or "/logout" not in body:
            raise RuntimeError(f"{username}'s session is not logged in: /account answered {response.status}")


async def vote(session: aiohttp.ClientSession, base: str, path: str, chosen: list[int]) -> tuple[str, float]:
    """The whole vote of one resident; (receipt shown, seconds of the confirming POST)."""
    async with session.get(base + path) as response:
        token = CSRF_RE.search(await response.text()).group(1)
    for project_id in chosen:
        async with session.post(base + path + "/basket", data={
                "_csrf": token, "action": "add", "project": str(project_id)}) as response:
            body = await response.text()
            if response.status != 200 or "The project is in your basket." not in body:
                raise RuntimeError(f"adding project {project_id} answered {response.status}: {body[:300]}")
    async with session.get(base + path + "/checkout") as response:
        review = await response.text()
        if response.status != 200:
            raise RuntimeError(f"the checkout page answered {response.status}: {review[:300]}")
    fields = HIDDEN_RE.findall(review)
    started = time.perf_counter()
    async with session.post(base + path + "/checkout", data=fields) as response:
        body = await response.text()
    elapsed = time.perf_counter() - started
    found = RECEIPT_RE.search(body)
    if response.status != 200 or not found:
        raise RuntimeError(f"the checkout answered {response.status}: {body[:300]}")
    return found.group(1), elapsed


async def baseline(sessions: list[aiohttp.ClientSession], base: str) -> float:
    """Requests per second of a logged-in GET of /account, every session at once."""
    async def one(session):
        for _ in range(BASELINE_PER_VOTER):
            async with session.get(base + "/account") as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"/account answered {response.status}")

    started = time.perf_counter()
    await asyncio.gather(*(one(s) for s in sessions))
    return len(sessions) * BASELINE_PER_VOTER / (time.perf_counter() - started)


async def close_voting(database_url: str) -> None:
    """An administrator closes voting (the space has no phases): results and ballots go public."""
    from sqlalchemy import select

    from node.db import make_engine, make_sessionmaker
    from node.spaces.models import Component

    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            component = await db.scalar(select(Component).where(Component.kind == "budgets"))
            component.settings = {**component.settings, "voting_enabled": False}
    finally:
        await engine.dispose()


async def database_counts(database_url: str) -> tuple[int, int, Counter]:
    """(cast ballots, baskets, {project id: ballot items}) in the database."""
    from sqlalchemy import func, select

    from node.components.budgets.models import Ballot, BallotItem
    from node.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            cast = await conn.scalar(select(func.count()).select_from(Ballot).where(Ballot.checked_out_at.is_not(None)))
            baskets = await conn.scalar(select(func.count()).select_from(Ballot).where(Ballot.checked_out_at.is_(None)))
            items = Counter(dict((await conn.execute(select(BallotItem.project_id, func.count()).join(
                Ballot, Ballot.id == BallotItem.ballot_id).where(Ballot.checked_out_at.is_not(None))
                .group_by(BallotItem.project_id))).all()))
    finally:
        await engine.dispose()
    return cast, baskets, items


async def check_exact(base: str, path: str, database_url: str, receipts: list[str], chosen: dict[int, list[int]],
                      costs: dict[int, int]) -> dict:
    expected = Counter(p for projects in chosen.values() for p in projects)
    await close_voting(database_url)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(base + path + "/ballots.json") as response:
            listed = json.loads(await response.text()) if response.status == 200 else None
        async with anonymous.get(base + path + "/results.json") as response:
            published = json.loads(await response.text()) if response.status == 200 else None
    problems = []
    if listed is None or published is None:
        raise NotExact("the ballots or the results are not public once voting is closed")
    if listed["ballots_count"] != VOTERS or len(listed["ballots"]) != VOTERS:
        problems.append(f"ballots.json lists {listed['ballots_count']} ballots, not {VOTERS}")
    if sorted(b["receipt"] for b in listed["ballots"]) != sorted(receipts):
        problems.append("the receipts listed are not the receipts the voters were shown")
    listed_votes = Counter(c["project"] for b in listed["ballots"] for c in b["choices"])
    if listed_votes != expected:
        problems.append(f"ballots.json gives votes {dict(listed_votes)}, the voters chose {dict(expected)}")
    if published["ballots"] != VOTERS:
        problems.append(f"results.json counts {published['ballots']} ballots, not {VOTERS}")
    scores = {int(p["id"]): int(p["score"]) for p in published["projects"]}
    for project_id in costs:
        if scores.get(project_id) != expected[project_id]:
            problems.append(f"project {project_id}: results.json gives {scores.get(project_id)} votes, "
                            f"{expected[project_id]} voters chose it")
    cast, baskets, items = await database_counts(database_url)
    if cast != VOTERS or baskets:
        problems.append(f"the database holds {cast} cast ballots and {baskets} baskets, not {VOTERS} and 0")
    if items != expected:
        problems.append(f"the database holds votes {dict(items)}, the voters chose {dict(expected)}")
    if problems:
        raise NotExact("; ".join(problems))
    return {"ballots_listed": len(listed["ballots"]), "ballots_in_db": cast, "votes": sum(expected.values())}


async def run(data: Path) -> dict:
    path, costs, cookies = await seed(data)
    from node.config import load_settings

    database_url = load_settings(data).database_url
    chosen = {n: choices_of(n, costs) for n in range(VOTERS)}
    node = start_serve(data)
    sessions = []
    try:
        connector_limit = aiohttp.TCPConnector(limit=0)
        for _ in range(VOTERS):
            sessions.append(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                                  connector=connector_limit, connector_owner=False))
        started = time.perf_counter()
        gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

        async def gated_log_in(session, username):
            async with gate:
                await log_in(session, node.url, username)

        from yarl import URL

        from node.web.sessions import COOKIE_NAME

        for n, key in cookies.items():
            sessions[n].cookie_jar.update_cookies({COOKIE_NAME: key}, URL(node.url))
        await asyncio.gather(*(gated_log_in(s, f"voter{n}") for n, s in enumerate(sessions) if n not in cookies))
        login_s = time.perf_counter() - started
        # Every session, logged in either way, is the user's: the baseline below fails otherwise.
        await asyncio.gather(*(logged_in(s, node.url, f"voter{n}") for n, s in enumerate(sessions)))
        baseline_rps = await baseline(sessions, node.url)

        started = time.perf_counter()
        done = await asyncio.gather(*(vote(s, node.url, path, chosen[n]) for n, s in enumerate(sessions)))
        elapsed = time.perf_counter() - started
        # The budget page, each add and the page it redirects to, the checkout page, the confirmation.
        requests = sum(1 + 2 * len(c) + 2 for c in chosen.values())
        checks = await check_exact(node.url, path, database_url, [r for r, _ in done], chosen, costs)
    finally:
        for session in sessions:
            await session.close()
        if sessions:
            await connector_limit.close()
        node.stop()
    checkout = [s for _, s in done]
    cuts = statistics.quantiles(checkout, n=100, method="inclusive")
    ballots_per_s = VOTERS / elapsed
    return {
        "benchmark": "ballots_checkout", "database": "sqlite", "voters": VOTERS, "concurrency": VOTERS,
        "projects": PROJECTS, "ballots_per_s": round(ballots_per_s, 1), "vote_s": round(elapsed, 2),
        "requests_per_ballot": round(requests / VOTERS, 2), "vote_requests_per_s": round(requests / elapsed, 1),
        "checkout_p50_ms": round(statistics.median(checkout) * 1000, 1), "checkout_p95_ms": round(cuts[94] * 1000, 1),
        "baseline": "logged-in GET /account, same concurrency", "baseline_rps": round(baseline_rps, 1),
        "ratio_ballots_to_baseline": round(ballots_per_s / baseline_rps, 3),
        "ratio_requests_to_baseline": round(requests / elapsed / baseline_rps, 3),
        "login_s": round(login_s, 2), "http_logins": VOTERS - len(cookies), "exact": True, **checks,
        "cpus": os.cpu_count(),
        "load": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="civicnode-bench-") as tmp:
        try:
            figures = asyncio.run(run(Path(tmp) / "data"))
        except NotExact as exc:
            print(json.dumps({"benchmark": "ballots_checkout", "exact": False, "ok": False, "error": str(exc)}),
                  flush=True)
            return 1
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
