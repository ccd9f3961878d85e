"""Full-text search (node.search) on SQLite (FTS5) and PostgreSQL (tsvector), over real HTTP."""
from __future__ import annotations

import pytest_asyncio
from sqlalchemy import delete, select

from node.appkeys import DB
from node.components.comments.models import Comment
from node.components.comments.registry import load_target
from node.components.comments.service import create_comment, delete_comment, edit_comment
from node.components.debates.service import create_debate
from node.components.proposals.models import Proposal
from node.moderation.models import Moderation
from node.search.command import reindex
from node.search.models import SearchDocument
from node.search.text import MAX_QUERY_CHARS
from node.spaces.models import Component, Space
from node.spaces.service import add_component
from tests.proposals_fixtures import make_component, make_proposal
from tests.spaces_support import make_space, make_user


async def api(web, **params):
    async with web.session.get(web.base + "/api/search", params=params) as response:
        return response.status, await response.json()


async def found(web, q, **params) -> set[tuple[str, int]]:
    status, body = await api(web, q=q, **params)
    assert status == 200, body
    return {(item["type"], item["id"]) for item in body["items"]}


async def comment_on(app, proposal, author, body):
    async with app[DB].begin() as db:
        target = await load_target(db, "proposal", proposal.id)
        return await create_comment(db, target, commentable_type="proposal", commentable_id=proposal.id,
                                    author=author, body=body)


@pytest_asyncio.fixture
async def content(app, server):
    """A published space with one item of each type, and the same words where nobody may look."""
    ana = await make_user(app, "ana")
    space, _, _ = await make_space(app, "mobility", title={"en": "Cycling city", "fr": "Ville cyclable"})
    proposals = await make_component(app, space)
    proposal = await make_proposal(app, space, proposals, ana, title="Pistes de Vélo électrique",
                                   body="Des pistes protégées sur le boulevard, du nord au sud.")
    async with app[DB].begin() as db:
        debates = await add_component(db, space, "debates", {"name": {"en": "Debates"}})
        debate = await create_debate(db, debates, {"title": {"en": "Should the square be car-free?"},
                                                   "description": {"en": "A pedestrian zone downtown."}},
                                     language="en")
    comment = await comment_on(app, proposal, ana, "I love the zebra crossings next to the school.")

    hidden_space, _, _ = await make_space(app, "drafts", published=False, title={"en": "Draft space"})
    draft_component = await make_component(app, hidden_space)
    draft = await make_proposal(app, hidden_space, draft_component, ana, title="Secret vélo plan for the zebra")
    unpublished = await make_component(app, space)
    async with app[DB].begin() as db:
        (await db.get(Component, unpublished.id)).published = False
    in_unpublished = await make_proposal(app, space, unpublished, ana, title="Unpublished vélo zebra idea")
    return {"space": space, "proposal": proposal, "debate": debate, "comment": comment, "ana": ana,
            "draft": draft, "in_unpublished": in_unpublished, "proposals": proposals, "debates": debates}


async def test_finds_each_type_with_its_link(web, content):
    space, proposal, debate, comment = (content[k] for k in ("space", "proposal", "debate", "comment"))
    assert await found(web, "cyclable") == {("space", space.id)}
    assert ("proposal", proposal.id) in await found(web, "boulevard")
    assert await found(web, "pedestrian") == {("debate", debate.id)}
    assert await found(web, "crossings") == {("comment", comment.id)}
    _, body = await api(web, q="crossings")
    item = body["items"][0]
    assert item["url"].endswith(f"/spaces/mobility/proposals/{proposal.id}#comment-{comment.id}")
    assert item["snippet"]["text"][slice(*item["snippet"]["highlights"][0])] == "crossings"
    _, body = await api(web, q="pedestrian")
    assert body["items"][0]["url"].endswith(f"/spaces/mobility/c/{content['debates'].id}/debates/{debate.id}")


async def test_case_and_accents_are_ignored(web, content):
    wanted = ("proposal", content["proposal"].id)
    for q in ("velo", "VÉLO", "Velo ELECTRIQUE", "électrique", "protegees"):
        assert wanted in await found(web, q), q


async def test_phrases_exclusions_and_or(web, content):
    wanted = ("proposal", content["proposal"].id)
    assert wanted in await found(web, '"pistes protégées"')
    assert wanted not in await found(web, '"protégées pistes"')
    assert wanted not in await found(web, "velo -boulevard")
    assert await found(web, "pedestrian OR cyclable") == {("debate", content["debate"].id),
                                                         ("space", content["space"].id)}


async def test_filters_by_space_and_type(web, app, content):
    other, _, _ = await make_space(app, "parks", title={"en": "Parks"})
    other_proposal = await make_proposal(app, other, await make_component(app, other), content["ana"],
                                         title="Vélo parking near the park gates")
    both = {("proposal", content["proposal"].id), ("proposal", other_proposal.id)}
    assert await found(web, "velo") == both
    assert await found(web, "velo", space="parks") == {("proposal", other_proposal.id)}
    assert await found(web, "zebra", type="comment") == {("comment", content["comment"].id)}
    assert await found(web, "zebra", type="proposal") == set()
    status, body = await api(web, q="velo", type="meeting")
    assert status == 400 and "type" in body["message"]
    assert (await api(web, q="velo", space="drafts"))[0] == 404  # unpublished: as if absent
    assert (await api(web, q="velo", space="nowhere"))[0] == 404


async def test_unpublished_deleted_and_hidden_content_is_never_found(web, app, content):
    zebra = await found(web, "zebra")
    assert ("proposal", content["draft"].id) not in zebra
    assert ("proposal", content["in_unpublished"].id) not in zebra
    assert zebra == {("comment", content["comment"].id)}
    async with app[DB].begin() as db:
        db.add(Moderation(subject_type="proposal", subject_id=content["proposal"].id, space_id=content["space"].id,
                          report_count=3, hidden_at=content["proposal"].created_at))
    assert await found(web, "boulevard") == set()
    assert await found(web, "zebra") == set()  # comments of a hidden proposal go with it
    async with app[DB].begin() as db:
        await db.execute(delete(Moderation))
    async with app[DB].begin() as db:
        comment = await db.get(Comment, content["comment"].id)
        target = await load_target(db, "proposal", content["proposal"].id)
        await delete_comment(db, target, comment, content["ana"])
    assert await found(web, "zebra") == set()
    async with app[DB]() as db:
        assert await db.scalar(select(SearchDocument).where(SearchDocument.item_type == "comment")) is None
    # Publishing the space later makes its content findable without reindexing.
    async with app[DB].begin() as db:
        (await db.get(Space, content["draft"].space_id)).published = True
    assert ("proposal", content["draft"].id) in await found(web, "secret")


async def test_edits_update_the_index_in_their_transaction(web, app, content):
    async with app[DB].begin() as db:
        proposal = await db.get(Proposal, content["proposal"].id)
        proposal.title = "Pistes cyclables rouges"
    assert await found(web, "electrique") == set()
    assert ("proposal", proposal.id) in await found(web, "rouges")
    async with app[DB].begin() as db:
        comment = await db.get(Comment, content["comment"].id)
        target = await load_target(db, "proposal", proposal.id)
        await edit_comment(db, target, comment, content["ana"], "Traffic lights would help more.")
    assert await found(web, "crossings") == set()
    assert await found(web, "traffic") == {("comment", comment.id)}
    async with app[DB].begin() as db:  # a rolled-back edit leaves the index as it was
        (await db.get(Proposal, proposal.id)).title = "Something else entirely"
        await db.flush()
        await db.rollback()
    assert ("proposal", proposal.id) in await found(web, "rouges")
    async with app[DB].begin() as db:  # deleting a space takes its documents along (cascade)
        await db.delete(await db.get(Space, content["space"].id))
    assert await found(web, "rouges") == set()


async def test_reindex_command_rebuilds_from_the_items(web, app, content, data_dir, database_url, monkeypatch,
                                                       capsys):
    from node.cli import build_parser
    from node.commands import cmd_search

    async with app[DB].begin() as db:  # as if the index were lost (restored from a dump without it)
        await db.execute(delete(SearchDocument))
    assert await found(web, "boulevard") == set()
    monkeypatch.setenv("CIVICNODE_DATABASE_URL", database_url)
    assert await cmd_search(build_parser().parse_args(["search", "reindex", "--data", str(data_dir)])) == 0
    # 2 spaces, 3 proposals (one unpublished, one in an unpublished space), 1 debate, 1 comment.
    assert capsys.readouterr().out.strip() == "indexed 2 spaces, 3 proposals, 1 debate, 1 comment"
    assert ("proposal", content["proposal"].id) in await found(web, "boulevard")
    assert await found(web, "crossings") == {("comment", content["comment"].id)}
    assert await found(web, "zebra", type="proposal") == set()  # still only what the public may see
    assert await reindex(app[DB]) == {"space": 2, "proposal": 3, "debate": 1, "comment": 1}


async def test_page_shows_highlighted_escaped_results_and_the_form(web, app, content):
    await comment_on(app, content["proposal"], content["ana"], "<script>alert(1)</script> vélo & zebra")
    page = await web.get("/search?q=VELO")
    assert page.status == 200
    assert '<mark>Vélo</mark>' in page.text  # the word as written, matched without case or accent
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>vélo</mark> &amp; zebra" in page.text
    assert f'href="/spaces/mobility/proposals/{content["proposal"].id}"' in page.text
    assert 'value="VELO"' in page.text and 'role="search"' in page.text
    home = await web.get("/")
    assert 'action="/search"' in home.text  # the header form, on every page


async def test_empty_and_too_long_queries(web, content):
    page = await web.get("/search")
    assert page.status == 200 and "<mark>" not in page.text and "Type at least one word" not in page.text
    page = await web.get("/search?q=+++")
    assert page.status == 200 and "Type at least one word" in page.text
    assert (await web.get("/search?q=-velo")).status == 200  # only exclusions: nothing to look for
    long_query = "vélo " * (MAX_QUERY_CHARS // 5 + 1)
    page = await web.get("/search", params={"q": long_query})
    assert page.status == 400 and "too long" in page.text
    assert f'value="{long_query.strip()}"' in page.text  # what was typed is kept in the form
    status, body = await api(web, q=long_query)
    assert status == 400 and "too long" in body["message"]
    status, body = await api(web, q=" ".join(["a"] * 33))
    assert status == 400
    status, body = await api(web, q="")
    assert status == 400 and "q parameter" in body["message"]
    assert (await api(web, q="velo", page="x"))[0] == 400


async def test_query_syntax_characters_never_break_the_search(web, content):
    nasty = ['"', '""', '"vélo', 'vélo"', "*", "vélo*", "-", "--vélo", "NEAR(vélo zebra)", "NEAR", "AND", "OR",
             "NOT vélo", "vélo OR", "OR vélo", "(", ")", "^vélo", "vélo:boulevard", "title:vélo", "'", "\\",
             "{vélo}", "vélo + zebra", "!vélo", "vélo & zebra | x", "%", "_", "\x00", "🚲 vélo", "é́́́"]
    for q in nasty:
        status, body = await api(web, q=q)
        assert status in (200, 400), (q, status, body)
        page = await web.get("/search", params={"q": q})
        assert page.status in (200, 400), (q, page.status)
    # Operators of FTS5 are plain words here: "vélo*" is the word vélo, NEAR one more alternative.
    assert ("proposal", content["proposal"].id) in await found(web, "vélo* OR NEAR")


async def test_pagination(web, app, content):
    for n in range(25):
        await make_proposal(app, content["space"], content["proposals"], content["ana"],
                            title=f"Arbre numéro {n} sur la place", body="Planter des arbres partout en ville.")
    first = await web.get("/search?q=arbres")
    assert first.status == 200 and "25 results" in first.text
    assert first.text.count('class="search-result"') == 20 and 'rel="next"' in first.text
    second = await web.get("/search?q=arbres&page=2")
    assert second.text.count('class="search-result"') == 5 and 'rel="prev"' in second.text
    status, body = await api(web, q="arbres", per_page="10", page="3")
    assert status == 200 and body["total"] == 25 and len(body["items"]) == 5
    status, body = await api(web, q="arbres", per_page="10", page="9")
    assert status == 200 and body["items"] == []


async def test_openapi_describes_the_search_endpoint(web, content):
    async with web.session.get(web.base + "/api/openapi.json") as response:
        document = await response.json()
    operation = document["paths"]["/api/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"q", "space", "type", "page", "per_page"}
    assert "SearchResult" in document["components"]["schemas"]
