"""Many residents voting at once over HTTP: every ballot is cast once, and the count is exact
(the public ballot list, the published results and the database agree with what they chose)."""
from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

from aiohttp import ClientSession, CookieJar

from tests.budgets_support import ballots_of, budget_path, budgets_component, make_budget, make_project, set_settings
from tests.helpers import WebClient, csrf_from
from tests.spaces_support import PASSWORD, make_user

VOTERS = 30
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
RECEIPT_RE = re.compile(r'<code class="receipt" id="receipt">([0-9a-f]{64})</code>')


async def resident(base: str, username: str) -> WebClient:
    client = WebClient(ClientSession(cookie_jar=CookieJar(unsafe=True)), base)
    page = await client.login(username, PASSWORD)
    assert page.status == 200 and "/logout" in page.text
    return client


async def whole_vote(client: WebClient, path: str, chosen: list[int]) -> str:
    """Open the budget, add each project with its button, review the checkout and confirm it."""
    token = csrf_from((await client.get(path)).text)
    for project_id in chosen:
        added = await client.post(path + "/basket", {"action": "add", "project": str(project_id)}, csrf=token)
        assert added.status == 200 and "The project is in your basket." in added.text, added.text[:500]
    review = await client.get(path + "/checkout")
    assert review.status == 200, review.text[:500]
    async with client.session.post(client.base + path + "/checkout", data=HIDDEN_RE.findall(review.text)) as answer:
        text = await answer.text()
    assert answer.status == 200, text[:500]
    return RECEIPT_RE.search(text).group(1)


async def test_thirty_residents_vote_at_once_and_the_count_is_exact(web, app):
    space, component, _ = await budgets_component(app, ballot_kind="project_count", max_projects=3)
    budget = await make_budget(app, component, total="1000")
    projects = [await make_project(app, budget, f"Project {n}", 100 + 50 * n) for n in range(6)]
    # Voter n chooses 1 to 3 projects, so that every project has its own count.
    chosen = {n: [projects[(n + k) % 6].id for k in range(1 + n % 3)] for n in range(VOTERS)}
    clients = []
    try:
        for n in range(VOTERS):
            await make_user(app, f"voter{n}")
        clients = await asyncio.gather(*(resident(web.base, f"voter{n}") for n in range(VOTERS)))
        path = budget_path(space, component, budget)
        receipts = await asyncio.gather(*(whole_vote(c, path, chosen[n]) for n, c in enumerate(clients)))
    finally:
        for client in clients:
            await client.session.close()

    expected = Counter(p for projects_chosen in chosen.values() for p in projects_chosen)
    rows = await ballots_of(app, budget)
    assert len(rows) == VOTERS and all(checked_out for _, checked_out, _, _ in rows)
    assert Counter(p for *_, items in rows for p in items) == expected
    assert len(set(receipts)) == VOTERS

    await set_settings(app, component, voting_enabled=False)
    listed = json.loads((await web.get(path + "/ballots.json")).text)
    assert listed["ballots_count"] == VOTERS and sorted(b["receipt"] for b in listed["ballots"]) == sorted(receipts)
    assert Counter(c["project"] for b in listed["ballots"] for c in b["choices"]) == expected
    published = json.loads((await web.get(path + "/results.json")).text)
    assert published["ballots"] == VOTERS
    assert {int(p["id"]): int(p["score"]) for p in published["projects"]} == {p.id: expected[p.id] for p in projects}
