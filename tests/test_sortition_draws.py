"""Draws of proposals (the sortitions component): announcing in advance, candidates frozen as they
stood at the draw time, the published value typed in after it, the public page and JSON, no way
to change a draw, and `civicnode sortition verify` against the running node, tampered or not."""
from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from node.accounts.models import User
from node.appkeys import DB
from node.components.proposals.models import Proposal
from node.components.proposals.service import answer_proposal
from node.components.sortitions import draw as algorithm
from node.components.sortitions import draws
from node.components.sortitions.models import Draw
from node.components.sortitions.verify_command import run_verify
from node.events import Event
from node.moderation.models import AdminAction
from node.spaces.models import Component
from node.spaces.service import add_component
from tests.proposals_fixtures import make_component, make_proposal
from tests.spaces_support import count, log_in, make_space, make_user

VALUE = "07-19-23 38 41"


async def sortition_space(app, *, published: bool = True):
    space, _, _ = await make_space(app, "budget-2027")
    proposals = await make_component(app, space, categories=["Parks", "Streets"])
    async with app[DB].begin() as db:
        sortitions = await add_component(db, space, "sortitions", {"name": {"en": "Draws"}, "published": published})
    return space, proposals, sortitions


async def accepted(app, space, component, author, admin, title: str, category: str = "Parks", state="accepted"):
    proposal = await make_proposal(app, space, component, author, title=title, category=category)
    async with app[DB].begin() as db:
        await answer_proposal(db, await db.get(Proposal, proposal.id), user=admin, state=state, answer="")
    return proposal


def admin_base(space, component) -> str:
    return f"/admin/spaces/{space.id}/components/{component.id}/draws"


def public_path(space, component, draw_id) -> str:
    return f"/spaces/{space.slug}/c/{component.id}/draws/{draw_id}"


def announcement(proposals, draw_at, **changes) -> dict:
    return {"title.en": "Which proposals go to the assembly", "title.fr": "Quelles propositions",
            "seed_source.en": "The five main numbers of the EuroMillions draw of that evening, in the order drawn.",
            "seed_source_url": "https://www.fdj.fr/jeux-de-tirage/euromillions-my-million/resultats",
            "source": str(proposals.id), "count": "2", "draw_at": draw_at.strftime("%Y-%m-%dT%H:%M"), **changes}


def clock(monkeypatch, moment) -> None:
    monkeypatch.setattr(draws, "now", lambda: moment)


async def announce(web, space, sortitions, proposals, draw_at, **changes):
    path = admin_base(space, sortitions) + "/new"
    return await web.post(path, announcement(proposals, draw_at, **changes), csrf_from_path=path)


async def the_draw(app) -> Draw:
    async with app[DB]() as db:
        return await db.scalar(select(Draw).order_by(Draw.id.desc()))


async def document(web, space, sortitions, draw_id) -> dict:
    page = await web.get(public_path(space, sortitions, draw_id) + ".json")
    assert page.status == 200 and page.headers["Content-Type"].startswith("application/json")
    return json.loads(page.text)


async def drawn_space(web, app, monkeypatch, *, candidates: int = 5, count_: int = 2):
    """A space whose draw of `count_` among `candidates` accepted proposals has taken place."""
    space, proposals, sortitions = await sortition_space(app)
    admin = await log_in(web, app, "alice_admin", role="admin")
    author = await make_user(app, "amelie")
    for n in range(candidates):
        await accepted(app, space, proposals, author, admin, f"Proposal number {n}")
    start = draws.now()
    page = await announce(web, space, sortitions, proposals, start + timedelta(hours=1), count=str(count_))
    assert page.status == 200, page.text[:2000]
    draw = await the_draw(app)
    clock(monkeypatch, start + timedelta(hours=2))
    path = f"{admin_base(space, sortitions)}/{draw.id}"
    page = await web.post(path, {"seed_value": VALUE}, csrf_from_path=path)
    assert page.status == 200 and "The draw has taken place." in page.text
    return space, sortitions, await the_draw(app)


# --- the algorithm, as docs/SORTITION.md specifies it --------------------------------------------

def test_the_typed_value_is_normalised_so_its_formatting_cannot_choose_the_draw():
    assert algorithm.normalise_seed_value(VALUE) == "7 19 23 38 41"
    for same in ("7 19 23 38 41", " 07 - 19 - 23 - 38 - 41 ", "7,19,23,38,41", "７ １９ ２３ ３８ ４１",
                 "7\n19\t23 38 41."):
        assert algorithm.normalise_seed_value(same) == "7 19 23 38 41", same
    assert algorithm.normalise_seed_value("Dow Jones: 34,567.00") == "dow jones 34 567 0"
    assert algorithm.normalise_seed_value("Ünïcode ÉTÉ") == "ünïcode été"
    assert algorithm.normalise_seed_value(" -- ") == ""
    assert algorithm.seed_of("7 19 23 38 41") == hashlib.sha256(b"7 19 23 38 41").hexdigest()


def reference_select(ids: list[str], seed: str, count: int) -> list[str]:
    """docs/SORTITION.md, re-implemented from its text alone."""
    def number(i: int) -> int:
        digest = hashlib.sha256(f"civicnode-sortition:proposal-draw:{seed}:{i}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    order = sorted(ids, key=lambda s: [ord(c) for c in s])
    counter = 0
    for j in range(min(count, len(order))):
        m = len(order) - j
        while True:
            value = number(counter)
            counter += 1
            if value < 2**64 - 2**64 % m:
                break
        k = j + value % m
        order[j], order[k] = order[k], order[j]
    return order[:min(count, len(order))]


def test_selection_follows_the_specification():
    ids = [f"https://city.example/spaces/s/proposals/{n}" for n in (3, 10, 2, 25, 1, 7)]
    seed = algorithm.seed_of(algorithm.normalise_seed_value(VALUE))
    assert algorithm.select(ids, seed, 3) == reference_select(ids, seed, 3)
    assert algorithm.select(list(reversed(ids)), seed, 3) == algorithm.select(ids, seed, 3)  # order given is irrelevant
    assert sorted(algorithm.select(ids, seed, 10)) == sorted(ids)  # fewer candidates than N: all of them
    assert algorithm.select([], seed, 2) == []
    assert algorithm.select(ids, algorithm.seed_of("8 19 23 38 41"), 3) != algorithm.select(ids, seed, 3)
    assert unicodedata.is_normalized("NFKC", algorithm.normalise_seed_value("ﬁ ½"))


# --- announcing ------------------------------------------------------------------------------------

async def test_admins_announce_a_draw_in_advance(web, app):
    space, proposals, sortitions = await sortition_space(app)
    await log_in(web, app, "alice_admin", role="admin")
    form = await web.get(admin_base(space, sortitions) + "/new")
    assert form.status == 200 and 'name="seed_source.ca"' in form.text
    assert f'value="{proposals.id}:Parks"' in form.text and 'type="datetime-local"' in form.text
    now = draws.now()
    past = await announce(web, space, sortitions, proposals, now - timedelta(minutes=5))
    assert past.status == 422 and "choose a time in the future" in past.text
    bad = await announce(web, space, sortitions, proposals, now + timedelta(hours=1), count="0", source="999",
                         **{"seed_source.en": " ", "seed_source_url": "ftp://x", "title.en": "", "title.fr": ""})
    assert bad.status == 422
    for message in ("Give the draw a title.", "Name the public value the draw will use",
                    "Enter a whole number from 1 to 1000.", "Choose the proposals to draw from among those offered.",
                    "Enter an address starting with https://"):
        assert message in bad.text, message
    assert await count(app, Draw) == 0

    page = await announce(web, space, sortitions, proposals, now + timedelta(days=1), source=f"{proposals.id}:Parks")
    assert page.status == 200 and "The draw is announced." in page.text
    draw = await the_draw(app)
    assert (draw.count, draw.category, draw.proposals_component_id) == (2, "Parks", proposals.id)
    assert draw.title == {"en": "Which proposals go to the assembly", "fr": "Quelles propositions"}
    assert draw.draw_at == (now + timedelta(days=1)).replace(second=0)
    assert await count(app, AdminAction, AdminAction.action == "sortition.draw_announced") == 1

    # Anyone sees the announcement at once, HTML and JSON.
    await web.post("/logout", {}, csrf_from_path="/")
    listing = await web.get(f"/spaces/{space.slug}/c/{sortitions.id}")
    assert listing.status == 200 and "Which proposals go to the assembly" in listing.text
    assert "Announced" in listing.text
    public = await web.get(public_path(space, sortitions, draw.id))
    assert public.status == 200 and "EuroMillions" in public.text
    assert "Candidates if the draw took place now" in public.text
    doc = await document(web, space, sortitions, draw.id)
    assert doc["status"] == "announced" and doc["candidates"] is None and doc["result"] is None
    assert doc["candidates_rule"] == {"component": f"{doc['space']}/c/{proposals.id}", "state": "accepted",
                                      "category": "Parks"}
    assert doc["seed_source"]["url"].startswith("https://www.fdj.fr/") and doc["count"] == 2
    negotiated = await web.get(public_path(space, sortitions, draw.id), headers={"Accept": "application/json"})
    assert json.loads(negotiated.text)["id"] == doc["id"]
    assert doc["id"].endswith(public_path(space, sortitions, draw.id))


async def test_a_draw_is_announced_only_in_public(web, app):
    space, proposals, sortitions = await sortition_space(app, published=False)
    await log_in(web, app, "alice_admin", role="admin")
    page = await announce(web, space, sortitions, proposals, draws.now() + timedelta(hours=1))
    assert page.status == 409 and "Publish the space and this component first" in page.text
    assert await count(app, Draw) == 0
    # A space without proposals has nothing to draw from: the form says so instead of failing.
    other, _, _ = await make_space(app, "no-proposals")
    async with app[DB].begin() as db:
        empty = await add_component(db, other, "sortitions", {"name": {"en": "Draws"}})
    form = await web.get(admin_base(other, empty) + "/new")
    assert form.status == 200 and "This space has no proposals component" in form.text
    assert 'name="draw_at"' not in form.text


async def test_residents_cannot_manage_draws(web, app):
    space, proposals, sortitions = await sortition_space(app)
    await log_in(web, app, "amelie")
    for path in (admin_base(space, sortitions), admin_base(space, sortitions) + "/new"):
        assert (await web.get(path)).status == 403
    refused = await announce(web, space, sortitions, proposals, draws.now() + timedelta(hours=1))
    assert refused.status == 403 and await count(app, Draw) == 0
    assert (await web.get(public_path(space, sortitions, 12345))).status == 404
    assert (await web.get(public_path(space, sortitions, 10**12) + ".json")).status == 404
    async with app[DB].begin() as db:
        db.add(Draw(component_id=sortitions.id, space_id=space.id, title={"en": "Hidden draw"}, seed_source={"en": "x"},
                    proposals_component_id=proposals.id, proposals_component_uri="x", count=1,
                    draw_at=draws.now() + timedelta(hours=1)))
        (await db.get(Component, sortitions.id)).published = False
    draw = await the_draw(app)
    assert (await web.get(public_path(space, sortitions, draw.id))).status == 404  # unpublished component
    assert (await web.get(public_path(space, sortitions, draw.id) + ".json")).status == 404


# --- the draw --------------------------------------------------------------------------------------

async def test_the_value_is_refused_before_the_draw_time_and_the_candidates_are_those_of_the_draw_time(
        web, app, monkeypatch):
    space, proposals, sortitions = await sortition_space(app)
    admin = await log_in(web, app, "alice_admin", role="admin")
    author = await make_user(app, "amelie")
    parks = [await accepted(app, space, proposals, author, admin, f"A park in district {n}") for n in range(4)]
    street = await accepted(app, space, proposals, author, admin, "Street lights", category="Streets")
    await accepted(app, space, proposals, author, admin, "Rejected park", state="rejected")
    start = draws.now()
    draw_at = (start + timedelta(hours=1)).replace(second=0)
    page = await announce(web, space, sortitions, proposals, draw_at, source=f"{proposals.id}:Parks")
    assert page.status == 200
    draw = await the_draw(app)
    manage = f"{admin_base(space, sortitions)}/{draw.id}"
    early = await web.post(manage, {"seed_value": VALUE}, csrf_from_path=manage)
    assert early.status == 409 and "The draw time has not come yet" in early.text
    assert (await the_draw(app)).seed_value is None and (await the_draw(app)).candidates is None

    # Before the draw time the answers may still change: a park is rejected, another accepted.
    async with app[DB].begin() as db:
        await answer_proposal(db, await db.get(Proposal, parks[0].id), user=admin, state="rejected", answer="")
    marker = datetime.now(timezone.utc)
    late = await accepted(app, space, proposals, author, admin, "Park accepted after the draw time")
    changed_later = parks[1]
    async with app[DB].begin() as db:
        await answer_proposal(db, await db.get(Proposal, changed_later.id), user=admin, state="rejected", answer="")
    # These two answers are given after the draw time (events keep the real clock's time).
    async with app[DB].begin() as db:
        moved = await db.execute(update(Event).where(
            Event.subject_id.in_([late.id, changed_later.id]), Event.kind == "proposal.answered",
            Event.created_at >= marker).values(created_at=draw_at + timedelta(minutes=10)))
        assert moved.rowcount == 2

    clock(monkeypatch, draw_at + timedelta(minutes=30))
    doc = await document(web, space, sortitions, draw.id)
    assert doc["status"] == "waiting_for_seed" and doc["result"] is None
    base = doc["space"]
    expected = sorted(f"{base}/proposals/{p.id}" for p in (parks[1], parks[2], parks[3]))
    assert [c["id"] for c in doc["candidates"]] == expected
    assert all(len(c["fingerprint"]) == 64 for c in doc["candidates"])
    assert f"{base}/proposals/{street.id}" not in json.dumps(doc)
    frozen_at = doc["candidates_frozen_at"]

    # Later changes no longer matter: the list was frozen.
    async with app[DB].begin() as db:
        await answer_proposal(db, await db.get(Proposal, parks[2].id), user=admin, state="rejected", answer="")
    clock(monkeypatch, draw_at + timedelta(hours=3))
    empty = await web.post(manage, {"seed_value": " -- "}, csrf_from_path=manage)
    assert empty.status == 422 and "it must contain letters or digits" in empty.text
    page = await web.post(manage, {"seed_value": VALUE}, csrf_from_path=manage)
    assert page.status == 200 and "The draw has taken place." in page.text
    doc = await document(web, space, sortitions, draw.id)
    assert doc["status"] == "drawn" and doc["candidates_frozen_at"] == frozen_at
    assert [c["id"] for c in doc["candidates"]] == expected
    assert doc["seed_value"] == VALUE and doc["seed_normalised"] == "7 19 23 38 41"
    assert doc["seed"] == hashlib.sha256(b"7 19 23 38 41").hexdigest()
    assert doc["result"] == reference_select(expected, doc["seed"], 2)
    assert algorithm.check_document(doc) == ([], doc["result"])
    public = await web.get(public_path(space, sortitions, draw.id))
    assert "Result" in public.text and "civicnode sortition verify" in public.text
    for uri in doc["result"]:
        assert f'<a href="{uri}">' in public.text
    assert await count(app, AdminAction, AdminAction.action == "sortition.draw_seed") == 1


async def test_nobody_changes_a_draw_once_it_ran(web, app, monkeypatch):
    space, sortitions, draw = await drawn_space(web, app, monkeypatch)
    before = (draw.seed_value, draw.seed, draw.result, draw.candidates, draw.draw_at, draw.title, draw.count)
    manage = f"{admin_base(space, sortitions)}/{draw.id}"
    again = await web.post(manage, {"seed_value": "1 2 3 4 5"}, csrf_from_path=manage)
    assert again.status == 409 and "This draw has already taken place" in again.text
    form = await web.get(manage)
    assert 'name="seed_value"' not in form.text
    # No route edits a draw, whatever the method.
    for path in (manage + "/edit", public_path(space, sortitions, draw.id) + "/edit"):
        assert (await web.get(path)).status == 404
        assert (await web.post(path, {"title.en": "Changed"}, csrf_from_path=manage)).status == 404
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        async with web.session.request(method, web.base + public_path(space, sortitions, draw.id),
                                       data={"seed_value": "1"}) as response:
            assert response.status in (403, 405), method
    # The service refuses too, whoever calls it.
    async with app[DB].begin() as db:
        row = await db.get(Draw, draw.id)
        with pytest.raises(draws.DrawError) as refused:
            await draws.enter_seed(db, row, "9 9 9", user=await db.get(User, row.seed_entered_by), base_url="",
                                   slug=space.slug)
        assert refused.value.status == 409
    after = await the_draw(app)
    assert (after.seed_value, after.seed, after.result, after.candidates, after.draw_at, after.title,
            after.count) == before


async def test_two_admins_typing_the_value_at_once_draw_once(web, app, monkeypatch):
    space, proposals, sortitions = await sortition_space(app)
    admin = await log_in(web, app, "alice_admin", role="admin")
    author = await make_user(app, "amelie")
    for n in range(3):
        await accepted(app, space, proposals, author, admin, f"Proposal number {n}")
    start = draws.now()
    await announce(web, space, sortitions, proposals, start + timedelta(hours=1))
    draw = await the_draw(app)
    clock(monkeypatch, start + timedelta(hours=2))

    async def enter(value):
        try:
            async with app[DB].begin() as db:
                await draws.enter_seed(db, await db.get(Draw, draw.id), value, user=admin, base_url="http://x",
                                       slug=space.slug)
            return "drawn"
        except draws.DrawError as exc:
            return exc.status

    outcomes = await asyncio.gather(enter("1 2 3"), enter("4 5 6"))
    assert sorted(outcomes, key=str) == sorted(["drawn", 409], key=str)
    assert await count(app, AdminAction, AdminAction.action == "sortition.draw_seed") == 1


# --- civicnode sortition verify, against the running node -------------------------------------------

async def test_verify_re_runs_the_published_draw_and_catches_tampering(web, app, server, monkeypatch, capsys):
    space, sortitions, draw = await drawn_space(web, app, monkeypatch, candidates=6, count_=3)
    url = web.base + public_path(space, sortitions, draw.id)
    assert await run_verify(url, allow_private=True) == 0
    out = capsys.readouterr().out
    assert "OK: the published result is the one its published inputs give" in out and "6 candidates, 3 to draw" in out
    assert await run_verify(url + ".json", allow_private=True) == 0
    capsys.readouterr()
    # Private addresses are refused unless allowed: nothing is checked.
    assert await run_verify(url) == 2
    assert "cannot read" in capsys.readouterr().out

    # The node's own result is rewritten: the mismatch is named.
    original = list(draw.result)
    async with app[DB].begin() as db:
        others = [c["id"] for c in draw.candidates if c["id"] not in original]
        await db.execute(update(Draw).where(Draw.id == draw.id).values(result=[others[0], *original[1:]]))
    assert await run_verify(url, allow_private=True) == 1
    out = capsys.readouterr().out
    assert "MISMATCH the published result differs from the draw's" in out and "1 problem(s)" in out
    # ... or the value typed in, after the fact.
    async with app[DB].begin() as db:
        await db.execute(update(Draw).where(Draw.id == draw.id).values(result=original, seed_value="1 2 3 4 5"))
    assert await run_verify(url, allow_private=True, as_json=True) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and any("normalises to '1 2 3 4 5'" in p for p in report["problems"])
    # ... or a candidate quietly removed.
    async with app[DB].begin() as db:
        await db.execute(update(Draw).where(Draw.id == draw.id).values(
            seed_value=VALUE, candidates=[c for c in draw.candidates if c["id"] != others[-1]]))
    assert await run_verify(url, allow_private=True) == 1
    assert "MISMATCH the published result differs" in capsys.readouterr().out


async def test_verify_command_line_against_the_running_node(web, app, server, monkeypatch):
    space, sortitions, draw = await drawn_space(web, app, monkeypatch)
    url = web.base + public_path(space, sortitions, draw.id)

    async def civicnode(*args) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "node", "sortition", "verify", *args,
                                                       stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await process.communicate()
        return process.returncode, output.decode()

    code, output = await civicnode(url, "--allow-private")
    assert code == 0 and "OK: the published result" in output, output
    async with app[DB].begin() as db:
        await db.execute(update(Draw).where(Draw.id == draw.id).values(result=list(reversed(draw.result))))
    code, output = await civicnode(url, "--allow-private")
    assert code == 1 and "MISMATCH" in output, output


async def test_verify_has_nothing_to_check_before_the_draw(web, app, server, capsys):
    space, proposals, sortitions = await sortition_space(app)
    await log_in(web, app, "alice_admin", role="admin")
    await announce(web, space, sortitions, proposals, draws.now() + timedelta(hours=1))
    draw = await the_draw(app)
    assert await run_verify(web.base + public_path(space, sortitions, draw.id), allow_private=True) == 2
    assert "has not been drawn yet" in capsys.readouterr().out
    assert await run_verify(web.base + f"/spaces/{space.slug}", allow_private=True) == 2
    assert await run_verify("not-a-url") == 2


def test_the_documented_example_and_re_implementation():
    text = (Path(__file__).parent.parent / "docs" / "SORTITION.md").read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    documented: dict = {}
    exec(compile(code, "docs/SORTITION.md", "exec"), documented)
    ids = [f"https://city.example/spaces/budget-2027/proposals/{n}" for n in (1, 2, 3, 4, 5, 6, 10)]
    assert documented["draw"](ids, VALUE, 3) == [ids[0], ids[5], ids[6]]  # proposals 1, 6, 10
    seed = algorithm.seed_of(algorithm.normalise_seed_value(VALUE))
    assert seed == "e8215f535edb7dbfbffcf2339a364d2b339ce636fa10de0a332594f98cecd604" and seed in text
    for value in (VALUE, "Dow Jones: 34,567.00", "ﬁ ½ Été 0042", "1"):
        assert documented["normalise"](value) == algorithm.normalise_seed_value(value)
        for count_ in (1, 3, 7, 9):
            expected = algorithm.select(ids, algorithm.seed_of(algorithm.normalise_seed_value(value)), count_)
            assert documented["draw"](ids, value, count_) == expected
            assert reference_select(ids, algorithm.seed_of(algorithm.normalise_seed_value(value)), count_) == expected
