"""Latency of the proposal list (5,000 proposals, 100,000 supports) and of one proposal page
(30 comments), each next to a static aiohttp response of the same size served in the same run.

The data is bulk-inserted with SQLAlchemy core (executemany), not through HTTP. The node runs
as `civicnode serve` in its own process; SQL statements per page are counted in this process
with an in-process app on the same database (the first, uncached, request).
Every page is measured twice: as an anonymous visitor (who reads lists, and whom the node's
page cache serves: node.web.cache) and as a logged-in resident (whose pages show their own
supports, votes and links: never cached whole, every request renders the page, from kept
fragments, node.web.render.fragment). Goals: list p95 <= 5x the static p95 (anonymous visitor;
the logged-in list's ratio is reported without a goal); proposal page p95 <= 10 ms, for both.

    CIVICNODE_BENCH_REQUESTS=N (default 300), CIVICNODE_BENCH_CONCURRENCY=C (default 8)
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import bindparam, event, insert, select, update  # noqa: E402

from tests.bench.bench_space_page import (  # noqa: E402
    CONCURRENCY, REQUESTS, log_in, measure, page_body, start_static,
)
from tests.bench.nodeproc import start_serve  # noqa: E402

PROPOSALS, SUPPORTS, USERS, COMMENTS = 5_000, 100_000, 1_000, 30
LIST_GOAL, PAGE_GOAL_MS = 5.0, 10.0
# A resident who supported proposals and commented (user0 wrote the first comment).
LOGIN = ("user0", "bench password 2027")


async def seed(data: Path) -> tuple[str, int, int]:
    from node.accounts.models import User
    from node.accounts.passwords import hash_password
    from node.commands import initialise
    from node.components.comments.models import Comment
    from node.components.proposals.models import Proposal, ProposalVersion, Support
    from node.components.proposals.versions import canonical_json, fingerprint_of
    from node.db import make_engine, make_sessionmaker
    from node.spaces.service import add_component, add_phase, create_space

    settings = await initialise(data, node_name="Bench", default_locale="en")
    engine = make_engine(settings.database_url)
    rng = random.Random(2027)
    try:
        async with make_sessionmaker(engine).begin() as db:
            space = await create_space(db, {"slug": "bench", "kind": "process", "published": True,
                                            "title": {"en": "Bench space"}}, default_locale="en")
            await add_phase(db, space, {"title": {"en": "Supports"}})
            component = await add_component(db, space, "proposals", {"name": {"en": "Proposals"}, "settings": {
                "support_threshold": 200, "categories": ["Trees", "Streets", "Schools", "Climate"]}})
            space_id, component_id = space.id, component.id
        async with engine.begin() as conn:
            await conn.execute(insert(User), [
                {"username": f"user{n}", "email": f"user{n}@bench.example",
                 "password_hash": hash_password(LOGIN[1]) if f"user{n}" == LOGIN[0] else "x",
                 "nickname": f"Resident {n}", "role": "user"} for n in range(USERS)])
            user_ids = list((await conn.scalars(select(User.id).order_by(User.id))).all())
            start = datetime(2027, 1, 1, tzinfo=timezone.utc)
            rows = []
            for n in range(PROPOSALS):
                created = start + timedelta(minutes=n)
                rows.append({"component_id": component_id, "space_id": space_id, "author_id": user_ids[n % USERS],
                             "title": f"Proposal {n}: more trees and benches in street {n % 97}",
                             "body": f"Proposal number {n}. " + "We propose to plant trees and add benches. " * 12,
                             "category": ["Trees", "Streets", "Schools", "Climate"][n % 4], "address": "",
                             "state": "not_answered", "answer": "", "created_at": created, "version_number": 1,
                             "support_count": 0, "comments_count": 0})
            await conn.execute(insert(Proposal), rows)
            proposals = list((await conn.execute(select(Proposal.id, Proposal.title, Proposal.body,
                                                        Proposal.author_id, Proposal.created_at))).all())
            versions = []
            for p in proposals:
                canonical = canonical_json(space="http://bench.example/spaces/bench", title=p.title, body=p.body,
                                           author=f"http://bench.example/users/user{p.author_id}",
                                           created_at=p.created_at)
                versions.append({"proposal_id": p.id, "number": 1, "title": p.title, "body": p.body,
                                 "category": "", "address": "", "created_at": p.created_at,
                                 "author_id": p.author_id, "canonical_json": canonical,
                                 "fingerprint": fingerprint_of(canonical)})
            await conn.execute(insert(ProposalVersion), versions)
            ids = [p.id for p in proposals]
            counts = dict.fromkeys(ids, 0)
            supports = []
            for user_id in user_ids:
                for proposal_id in rng.sample(ids, SUPPORTS // USERS):
                    supports.append({"proposal_id": proposal_id, "user_id": user_id, "component_id": component_id,
                                     "counted": True, "created_at": start})
                    counts[proposal_id] += 1
            await conn.execute(insert(Support), supports)
            await conn.execute(update(Proposal.__table__).where(Proposal.__table__.c.id == bindparam("pid"))
                               .values(support_count=bindparam("n")),
                               [{"pid": pid, "n": n} for pid, n in counts.items()])
            target = ids[-1]  # the newest: first on the default list
            await conn.execute(insert(Comment), [
                {"commentable_type": "proposal", "commentable_id": target, "space_id": space_id,
                 "component_id": component_id, "depth": 0, "author_id": user_ids[n], "alignment": "in_favor",
                 "body": f"Comment {n}: I agree, and the benches should face the sun. " * 3,
                 "created_at": start + timedelta(hours=n), "up_votes": n % 5, "down_votes": 0}
                for n in range(COMMENTS)])
            await conn.execute(update(Proposal).where(Proposal.id == target).values(comments_count=COMMENTS))
    finally:
        await engine.dispose()
    return settings.database_url, component_id, target


async def statements_per_page(data: Path, paths: list[str], login: tuple[str, str] | None = None) -> dict[str, int]:
    from aiohttp import ClientSession, CookieJar
    from aiohttp.test_utils import TestServer

    from node.app import create_app
    from node.appkeys import ENGINE
    from node.config import load_settings

    app = create_app(load_settings(data))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    counted: list[str] = []
    figures = {}
    try:
        def on_execute(conn, cursor, statement, parameters, context, executemany):
            counted.append(statement)

        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
            if login:
                await log_in(session, str(server.make_url("")).rstrip("/"), login)
            for path in paths:
                event.listen(app[ENGINE].sync_engine, "before_cursor_execute", on_execute)
                async with session.get(server.make_url(path)) as response:
                    await response.read()
                event.remove(app[ENGINE].sync_engine, "before_cursor_execute", on_execute)
                figures[path] = len(counted)
                counted.clear()
    finally:
        await server.close()
    return figures


def compare(node_url: str, path: str, tmp: Path, name: str, login: tuple[str, str] | None = None) -> dict:
    body = asyncio.run(page_body(node_url + path, login))
    size = len(body)
    body_file = tmp / f"{name}.html"
    body_file.write_bytes(body)
    static = start_static(body_file)
    try:
        node_figures = asyncio.run(measure(node_url + path, size, login))
        static_figures = asyncio.run(measure(static.url + path, size))
    finally:
        static.stop()
    return {"path": path, "visitor": "logged_in" if login else "anonymous", "bytes": size, "requests": REQUESTS,
            "p50_ms": node_figures["p50"], "p95_ms": node_figures["p95"],
            "static_p50_ms": static_figures["p50"], "static_p95_ms": static_figures["p95"],
            "ratio_p95": round(node_figures["p95"] / static_figures["p95"], 2),
            "concurrency": CONCURRENCY, "concurrent_p95_ms": node_figures["c_p95"],
            "concurrent_static_p95_ms": static_figures["c_p95"],
            "concurrent_ratio_p95": round(node_figures["c_p95"] / static_figures["c_p95"], 2),
            "concurrent_rps": node_figures["c_rps"]}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="civicnode-bench-") as tmp:
        data = Path(tmp) / "data"
        _url, component_id, target = asyncio.run(seed(data))
        pages = {"recent": f"/spaces/bench/c/{component_id}",
                 "most_supported": f"/spaces/bench/c/{component_id}?order=most_supported",
                 "proposal": f"/spaces/bench/proposals/{target}"}
        statements = {None: asyncio.run(statements_per_page(data, list(pages.values()))),
                      LOGIN: asyncio.run(statements_per_page(data, list(pages.values()), LOGIN))}
        node = start_serve(data)
        results = []
        try:
            for login in (None, LOGIN):
                for name, path in pages.items():
                    figures = compare(node.url, path, Path(tmp), name + ("-logged-in" if login else ""), login)
                    figures["sql_statements"] = statements[login][path]
                    if name == "proposal":
                        figures.update(benchmark="proposal_page", comments=COMMENTS)
                        goal = {"goal_p95_ms": PAGE_GOAL_MS, "ok": figures["p95_ms"] <= PAGE_GOAL_MS}
                    else:
                        figures.update(benchmark="proposal_list", order=name, proposals=PROPOSALS, supports=SUPPORTS)
                        goal = {"goal_ratio_p95": LIST_GOAL, "ok": figures["ratio_p95"] <= LIST_GOAL}
                    if login:
                        figures.update(served="rendered for each request from kept fragments (logged in)")
                        figures.update(goal if name == "proposal" else
                                       {"goal": "none: the list's goal is for the anonymous visitor"})
                    else:
                        figures.update(served="page cache (anonymous visitor)", **goal)
                    results.append(figures)
        finally:
            node.stop()
    for figures in results:
        print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
