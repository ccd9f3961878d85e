"""Debates and comments in the public JSON API, and the OpenAPI document that describes them."""
from __future__ import annotations

import json

from openapi_spec_validator import validate

from tests.spaces_support import log_in
from tests.test_comments import comment, comments_of, make_debate, page_path


async def test_comments_are_listed_flat_with_placeholders(web, app):
    space, component, debate = await make_debate(app)
    path = page_path(space, component, debate)
    amelie = await log_in(web, app, "amelie")
    await comment(web, path, debate, "Root comment")
    (root,) = await comments_of(app, debate)
    await comment(web, path, debate, "A reply", parent_id=root.id)
    await web.post(f"/comments/{root.id}/delete", csrf_from_path=path)

    page = await web.get(f"/api/comments?commentable_type=debate&commentable_id={debate.id}")
    assert page.status == 200 and page.headers["Access-Control-Allow-Origin"] == "*"
    body = json.loads(page.text)
    assert body["total"] == 2 and body["page"] == 1
    placeholder, reply = body["items"]
    assert placeholder["deleted"] is True and placeholder["body"] is None and placeholder["author"] is None
    assert placeholder["url"].endswith(f"{path}#comment-{root.id}")
    assert reply["parent_id"] == root.id and reply["depth"] == 1 and reply["body"] == "A reply"
    assert reply["author"]["username"] == amelie.username and reply["alignment"] is None
    assert (reply["up_votes"], reply["down_votes"], reply["edited_at"]) == (0, 0, None)

    second = json.loads((await web.get(
        f"/api/comments?commentable_type=debate&commentable_id={debate.id}&per_page=1&page=2")).text)
    assert [c["id"] for c in second["items"]] == [reply["id"]] and second["total"] == 2


async def test_comment_api_errors(web, app):
    _, _, hidden = await make_debate(app, published=False, slug="hidden-space")
    for query, status in (("commentable_type=debate&commentable_id=9999", 404),
                          ("commentable_type=debate", 400),
                          ("commentable_type=nothing&commentable_id=1", 404),
                          (f"commentable_type=debate&commentable_id={hidden.id}", 404)):
        page = await web.get(f"/api/comments?{query}")
        assert page.status == status, query
        assert json.loads(page.text)["status"] == status


async def test_debates_are_listed_per_space_and_one_by_one(web, app):
    space, component, debate = await make_debate(app)
    _, _, closed = await make_debate(app, closed=True, slug="other-space")
    listing = json.loads((await web.get(f"/api/spaces/{space.slug}/debates")).text)
    assert listing["total"] == 1
    item = listing["items"][0]
    assert item["id"] == debate.id and item["official"] is True and item["author"] is None
    assert item["title"]["fr"] == "Faut-il déplacer le marché ?" and item["conclusion"] is None
    assert item["comments"].endswith(f"/api/comments?commentable_type=debate&commentable_id={debate.id}")
    one = json.loads((await web.get(f"/api/debates/{closed.id}")).text)
    assert one["conclusion"] == {"en": "The market stays where it is."} and one["closed_at"]
    assert json.loads((await web.get("/api/spaces/other-space/debates?state=open")).text)["total"] == 0
    assert json.loads((await web.get("/api/spaces/other-space/debates?state=closed")).text)["total"] == 1
    assert (await web.get("/api/spaces/other-space/debates?state=maybe")).status == 400
    assert (await web.get("/api/debates/99999")).status == 404
    assert (await web.get("/api/spaces/nowhere/debates")).status == 404


async def test_unpublished_debates_stay_out_of_the_api(web, app):
    _, _, debate = await make_debate(app, published=False)
    assert (await web.get(f"/api/debates/{debate.id}")).status == 404


async def test_openapi_still_validates_with_debates_and_comments(web):
    document = json.loads((await web.get("/api/openapi.json")).text)
    validate(document)
    for path in ("/api/spaces/{slug}/debates", "/api/debates/{debate_id}", "/api/comments"):
        assert path in document["paths"], path
    assert {"Debate", "Comment"} <= set(document["components"]["schemas"])
