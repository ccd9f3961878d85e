"""Latency of a debate page with 30 comments rendered, next to a static response of the same
size served in the same run (goal: p95 <= 10 ms, for an anonymous visitor and a logged-in one).

The demo data is seeded, then a debate with 30 comments (a third of them replies, some
voted on) is added to it before `civicnode serve` starts. Measured like bench_space_page:
warm-up, sequential then concurrent GETs; once as an anonymous visitor (whom the page cache
serves, node.web.cache) and once as a logged-in resident (the page rendered for every request,
with their own votes and reply forms, from kept fragments: node.web.render.fragment).

    CIVICNODE_BENCH_REQUESTS=N (default 300), CIVICNODE_BENCH_CONCURRENCY=C (default 8)
"""
from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select  # noqa: E402

from tests.bench.bench_space_page import CONCURRENCY, REQUESTS, measure, page_body, start_static  # noqa: E402
from tests.bench.nodeproc import seed_demo_data, start_serve  # noqa: E402

COMMENTS = 30
GOAL_P95_MS = 10.0
LOGIN = ("bench_reader", "bench password 2027")


async def add_debate(data: Path) -> str:
    """A debate with COMMENTS comments in the demo's first debates component; returns its path."""
    from node.accounts.models import User
    from node.accounts.service import create_user
    from node.components.comments.service import create_comment, vote
    from node.components.debates.service import comment_target, create_debate
    from node.config import load_settings
    from node.db import make_engine, make_sessionmaker
    from node.db.base import utcnow
    from node.spaces.models import Component, Space

    settings = load_settings(data)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            component = await db.scalar(select(Component).where(Component.kind == "debates").order_by(Component.id))
            space = await db.get(Space, component.space_id)
            people = list(await db.scalars(select(User).order_by(User.id)))
            reader = await create_user(db, username=LOGIN[0], email="reader@bench.example", password=LOGIN[1],
                                       nickname="Bench reader")
            people.insert(0, reader)  # votes on some comments: their page shows their own votes
            debate = await create_debate(db, component, {
                "title": {"fr": "Un débat très commenté", "en": "A much commented debate"},
                "description": {"fr": "Trente commentaires pour mesurer.", "en": "Thirty comments to measure."}},
                language="fr")
            target = comment_target(debate, component, space)
            made = []
            start = utcnow() - timedelta(days=2)
            for n in range(COMMENTS):
                parent = made[n // 3] if n % 3 == 2 and made[n // 3].depth < 3 else None
                row = await create_comment(
                    db, target, commentable_type="debate", commentable_id=debate.id, author=people[n % len(people)],
                    body=(f"Commentaire numéro {n} : je pense que **la piste cyclable** devrait continuer "
                          f"jusqu'à la gare, et qu'il faut [un plan](https://example.org/plan-{n}) clair.\n\n"
                          "- plus d'arceaux\n- des bancs à l'ombre"),
                    parent_id=parent.id if parent else None)
                row.created_at = start + timedelta(minutes=n)
                made.append(row)
                for voter in people[: n % 3]:
                    if voter.id != row.author_id:
                        await vote(db, target, row, voter, 1 if n % 2 else -1)
            return target.url
    finally:
        await engine.dispose()


def figures_for(node_url: str, path: str, tmp: Path, login: tuple[str, str] | None) -> dict:
    body = asyncio.run(page_body(node_url + path, login))
    if body.count(b'<article id="comment-') != COMMENTS:
        raise RuntimeError(f"{path} answered without its {COMMENTS} comments")
    body_file = tmp / ("debate-logged-in.html" if login else "debate.html")
    body_file.write_bytes(body)
    static = start_static(body_file)
    try:
        node_figures = asyncio.run(measure(node_url + path, len(body), login))
        static_figures = asyncio.run(measure(static.url + path, len(body)))
    finally:
        static.stop()
    figures = {
        "benchmark": "debate_page_30_comments",
        "path": path,
        "visitor": "logged_in" if login else "anonymous",
        "comments": COMMENTS,
        "bytes": len(body),
        "requests": REQUESTS,
        "p50_ms": node_figures["p50"],
        "p95_ms": node_figures["p95"],
        "static_p50_ms": static_figures["p50"],
        "static_p95_ms": static_figures["p95"],
        "ratio_p95": round(node_figures["p95"] / static_figures["p95"], 2),
        "concurrency": CONCURRENCY,
        "concurrent_p50_ms": node_figures["c_p50"],
        "concurrent_p95_ms": node_figures["c_p95"],
        "concurrent_static_p95_ms": static_figures["c_p95"],
        "concurrent_rps": node_figures["c_rps"],
    }
    figures.update(served="rendered for each request from kept fragments (logged in)" if login
                   else "page cache (anonymous visitor)",
                   goal_p95_ms=GOAL_P95_MS, ok=node_figures["p95"] <= GOAL_P95_MS)
    return figures


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="civicnode-bench-") as tmp:
        data = Path(tmp) / "data"
        seed_demo_data(data)
        path = asyncio.run(add_debate(data))
        node = start_serve(data)
        try:
            results = [figures_for(node.url, path, Path(tmp), login) for login in (None, LOGIN)]
        finally:
            node.stop()
    for figures in results:
        print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
