"""The public JSON API: spaces, pagination, errors, and a valid OpenAPI document."""
from __future__ import annotations

import json

from openapi_spec_validator import validate

from tests.spaces_support import make_space


async def test_openapi_document_is_valid_and_lists_the_endpoints(web):
    page = await web.get("/api/openapi.json")
    assert page.status == 200
    document = json.loads(page.text)
    validate(document)
    assert "/api/spaces" in document["paths"] and "/api/spaces/{slug}" in document["paths"]


async def test_spaces_are_listed_with_their_phases_and_components(web, app):
    space, phases, _ = await make_space(app, phases=2)
    page = await web.get("/api/spaces")
    assert page.status == 200 and page.headers["Access-Control-Allow-Origin"] == "*"
    body = json.loads(page.text)
    assert body["total"] == 1 and body["page"] == 1
    item = body["items"][0]
    assert item["slug"] == space.slug
    assert item["url"].endswith(f"/spaces/{space.slug}")
    assert [p["active"] for p in item["phases"]] == [True, False]
    one = json.loads((await web.get(f"/api/spaces/{space.slug}")).text)
    assert one == item


async def test_unpublished_spaces_are_not_in_the_api(web, app):
    space, _, _ = await make_space(app, published=False)
    assert json.loads((await web.get("/api/spaces")).text)["total"] == 0
    missing = await web.get(f"/api/spaces/{space.slug}")
    assert missing.status == 404
    assert json.loads(missing.text)["status"] == 404


async def test_bad_pagination_is_a_400_with_a_message(web):
    for query in ("page=0", "per_page=1000", "page=abc"):
        page = await web.get(f"/api/spaces?{query}")
        assert page.status == 400, query
        assert "per_page" in json.loads(page.text)["message"]
