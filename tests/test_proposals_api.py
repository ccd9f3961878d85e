"""Proposals in the public JSON API and the admin's settings forms of a proposals component."""
from __future__ import annotations

import hashlib
import json

from openapi_spec_validator import validate
from sqlalchemy import update

from node.appkeys import DB
from node.components.proposals.models import Proposal
from node.spaces.models import Component
from tests.spaces_support import admin_web, make_user  # noqa: F401
from tests.proposals_fixtures import make_proposal, space_with_component


async def test_openapi_lists_the_proposal_endpoints(web):
    document = json.loads((await web.get("/api/openapi.json")).text)
    validate(document)
    assert {"/api/spaces/{slug}/proposals", "/api/proposals/{id}"} <= set(document["paths"])


async def test_list_and_detail_with_versions_and_fingerprints(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    first = await make_proposal(app, space, component, author, category="Trees")
    second = await make_proposal(app, space, component, author, title="Repaint the school fence")
    async with app[DB].begin() as db:
        await db.execute(update(Proposal).where(Proposal.id == second.id).values(state="accepted"))
    body = json.loads((await web.get(f"/api/spaces/{space.slug}/proposals")).text)
    assert body["total"] == 2 and [i["id"] for i in body["items"]] == [first.id, second.id]
    item = body["items"][0]
    assert item["url"].endswith(f"/spaces/{space.slug}/proposals/{first.id}")
    assert item["author"].endswith("/users/amelie") and item["support_count"] == 0
    accepted = json.loads((await web.get(f"/api/spaces/{space.slug}/proposals?state=accepted")).text)
    assert [i["id"] for i in accepted["items"]] == [second.id]
    trees = json.loads((await web.get(f"/api/spaces/{space.slug}/proposals?category=Trees")).text)
    assert [i["id"] for i in trees["items"]] == [first.id]
    bad = await web.get(f"/api/spaces/{space.slug}/proposals?state=maybe")
    assert bad.status == 400 and "state must be one of" in json.loads(bad.text)["message"]
    detail = json.loads((await web.get(f"/api/proposals/{first.id}")).text)
    (version,) = detail["versions"]
    assert hashlib.sha256(version["canonical_json"].encode()).hexdigest() == version["fingerprint"]
    assert detail["fingerprint"] == version["fingerprint"] and version["number"] == 1


async def test_unpublished_components_and_spaces_stay_out_of_the_api(web, app):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    async with app[DB].begin() as db:
        await db.execute(update(Component).values(published=False))
    assert json.loads((await web.get(f"/api/spaces/{space.slug}/proposals")).text)["total"] == 0
    assert (await web.get(f"/api/proposals/{proposal.id}")).status == 404
    assert (await web.get(f"/spaces/{space.slug}/proposals/{proposal.id}")).status == 404
    assert (await web.get("/api/spaces/nowhere/proposals")).status == 404


async def test_admin_edits_the_settings(admin_web, app):
    space, component, phases = await space_with_component(app, phases=2)
    path = f"/admin/spaces/{space.id}/components/{component.id}"
    page = await admin_web.get(path)
    assert page.status == 200 and "Maximum supports per person" in page.text
    assert page.text.count('name="max_supports_per_user"') == 1
    form = {"name.en": "Your ideas", "creation_enabled": "1", "supports_enabled": "1", "amendments_enabled": "1",
            "edit_window_minutes": "30", "max_supports_per_user": "5", "minimum_supports_per_user": "2",
            "support_threshold": "100", "results_visibility": "after_supports", "default_order": "random",
            "categories": "Trees\r\nStreets\r\n\r\nTrees"}
    page = await admin_web.post(path, form, csrf_from_path=path)
    assert page.status == 200 and "Your changes were saved." in page.text
    async with app[DB]() as db:
        settings = (await db.get(Component, component.id)).settings
    assert settings["max_supports_per_user"] == 5 and settings["categories"] == ["Trees", "Streets"]
    assert settings["results_visibility"] == "after_supports" and settings["supports_blocked"] is False
    bad = await admin_web.post(path, {**form, "max_supports_per_user": "many", "minimum_supports_per_user": "-1",
                                      "results_visibility": "never"}, csrf_from_path=path)
    assert bad.status == 422 and "Enter a whole number." in bad.text and "Enter a number between 0 and" in bad.text
    supports_page = f"{path}/proposal-supports"
    page = await admin_web.post(supports_page, {"support_phases": str(phases[1].id), "action": "save"},
                                csrf_from_path=supports_page)
    assert page.status == 200 and "Your changes were saved." in page.text
    async with app[DB]() as db:
        settings = (await db.get(Component, component.id)).settings
    assert settings["support_phases"] == [phases[1].id] and settings["max_supports_per_user"] == 5
    page = await admin_web.post(supports_page, {"action": "recount"}, csrf_from_path=supports_page)
    assert page.status == 200
