"""Open-data exports over HTTP: the API's fields in JSON and in CSV, hidden support counts stay
hidden (also from the order), unpublished spaces and components stay out, no personal data."""
from __future__ import annotations

import io
import json
import zipfile

from node.appkeys import DB, SETTINGS
from node.components.proposals.models import Proposal
from node.opendata.formats import by_origin_cell, flatten
from node.opendata.routes import CONCURRENT_EXPORTS, EXPORT_SLOTS
from node.spaces.models import Component
from tests.opendata_support import EMAIL_DOMAIN, populate, read_zip
from tests.spaces_support import log_in

TABLES = {"spaces", "phases", "components", "proposals", "proposal_versions", "debates", "comments", "budgets",
          "budget_projects"}


async def fetch(web, path: str) -> tuple[int, dict, bytes]:
    async with web.session.get(web.base + path) as response:
        return response.status, dict(response.headers), await response.read()


async def fetch_json(web, path: str):
    status, _headers, body = await fetch(web, path)
    assert status == 200, (path, body[:300])
    return json.loads(body)


async def seeded(app) -> dict:
    return await populate(app[DB], app[SETTINGS].base_url)


async def test_space_json_has_the_api_objects(web, app):
    data = await seeded(app)
    status, headers, body = await fetch(web, "/spaces/budget-2027/export.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert 'attachment; filename="civicnode-budget-2027-' in headers["Content-Disposition"]
    export = json.loads(body)
    assert export["space"] == "budget-2027" and export["node"] == app[SETTINGS].base_url
    assert export["spaces"] == [await fetch_json(web, "/api/spaces/budget-2027")]
    assert [p["id"] for p in export["proposals"]] == [data[k].id for k in ("shown", "few", "many", "admins")]
    for item in export["proposals"]:
        assert item == await fetch_json(web, f"/api/proposals/{item['id']}")
    assert len(export["proposals"][0]["versions"]) == 2
    api_debates = (await fetch_json(web, "/api/spaces/budget-2027/debates"))["items"]
    assert sorted(export["debates"], key=lambda d: d["id"]) == sorted(api_debates, key=lambda d: d["id"])
    api_comments = []
    for kind, item_id in (("proposal", data["shown"].id), ("debate", data["official"].id)):
        page = await fetch_json(web, f"/api/comments?commentable_type={kind}&commentable_id={item_id}")
        api_comments += page["items"]
    assert sorted(export["comments"], key=lambda c: c["id"]) == sorted(api_comments, key=lambda c: c["id"])
    deleted = next(c for c in export["comments"] if c["deleted"])
    assert deleted["body"] is None and deleted["author"] is None


async def test_csv_zip_has_one_file_per_kind_with_the_api_fields(web, app):
    await seeded(app)
    status, headers, body = await fetch(web, "/spaces/budget-2027/export.zip")
    assert status == 200 and headers["Content-Type"] == "application/zip"
    tables = read_zip(body)
    assert set(tables) == TABLES
    export = json.loads((await fetch(web, "/spaces/budget-2027/export.json"))[2])
    expected = {
        "spaces": export["spaces"],
        "phases": [{"space": s["slug"], **p} for s in export["spaces"] for p in s["phases"]],
        "components": [{"space": s["slug"], **c} for s in export["spaces"] for c in s["components"]],
        "proposals": [{k: by_origin_cell(v) if k == "supports_by_origin" else v for k, v in p.items()
                       if k != "versions"} for p in export["proposals"]],
        "proposal_versions": [{"proposal_id": p["id"], **v} for p in export["proposals"] for v in p["versions"]],
        "debates": export["debates"], "comments": export["comments"],
    }
    for name, items in expected.items():
        header, rows = tables[name]
        assert len(rows) == len(items), name
        for row, item in zip(rows, items):
            cells = flatten(item)
            assert set(cells) <= set(header), (name, set(cells) - set(header))
            assert row == {column: cells.get(column, "") for column in header}, name
    header, rows = tables["debates"]
    assert "title/fr" in header and "author/username" in header and "conclusion/en" in header
    closed = next(r for r in rows if r["closed_at"])
    assert closed["conclusion/en"] == "Trees, mostly." and closed["author/username"] == "noor"
    # A spreadsheet would run these as formulas; the JSON keeps the exact text.
    first_version = tables["proposal_versions"][1][0]
    assert first_version["body"].startswith("'- twelve lime trees")
    assert export["proposals"][0]["versions"][0]["body"].startswith("- twelve lime trees")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        package = json.loads(archive.read("datapackage.json"))
    fields = {r["path"]: [f["name"] for f in r["schema"]["fields"]] for r in package["resources"]}
    assert fields == {f"{name}.csv": header for name, (header, _rows) in tables.items()}


async def test_hidden_counts_stay_hidden_in_both_formats_and_in_the_order(web, app):
    data = await seeded(app)
    await log_in(web, app, "alice_admin", role="admin")  # an export is the public's view, even for admins
    export = json.loads((await fetch(web, "/spaces/budget-2027/export.json"))[2])
    by_id = {p["id"]: p for p in export["proposals"]}
    assert by_id[data["shown"].id]["support_count"] == 2
    for key in ("few", "many", "admins"):
        assert "support_count" not in by_id[data[key].id], key
    assert [p["id"] for p in export["proposals"]] == sorted(by_id)
    _header, rows = read_zip((await fetch(web, "/spaces/budget-2027/export.zip"))[2])["proposals"]
    assert [int(r["id"]) for r in rows] == sorted(by_id)
    assert {int(r["id"]): r["support_count"] for r in rows} == {
        data["shown"].id: "2", data["few"].id: "", data["many"].id: "", data["admins"].id: ""}
    # Once supports close, "after supports" shows the counts, in the export as in the API.
    async with app[DB].begin() as db:
        component = await db.get(Component, (await db.get(Proposal, data["many"].id)).component_id)
        component.settings = {**component.settings, "supports_enabled": False}
    export = json.loads((await fetch(web, "/spaces/budget-2027/export.json"))[2])
    counts = {p["id"]: p.get("support_count") for p in export["proposals"]}
    assert counts[data["many"].id] == 3 and counts[data["few"].id] == 1 and counts[data["admins"].id] is None
    api = await fetch_json(web, f"/api/proposals/{data['many'].id}")
    assert api["support_count"] == 3


async def test_unpublished_spaces_and_components_are_not_exported(web, app):
    await seeded(app)
    await log_in(web, app, "alice_admin", role="admin")
    assert (await web.get("/spaces/secret-space")).status == 200  # the admin sees the page...
    for path in ("/spaces/secret-space/export.json", "/spaces/secret-space/export.zip",
                 "/spaces/no-such-space/export.json"):
        status, _headers, body = await fetch(web, path)
        assert status == 404 and b"No published space has this address." in body, path  # ...not its data
    assert (await fetch(web, "/spaces/budget-2027/export.csv"))[0] == 404
    export = json.loads((await fetch(web, "/export.json"))[2])
    assert export["space"] is None
    assert [s["slug"] for s in export["spaces"]] == ["budget-2027", "neighbourhoods"]
    titles = {p["title"] for p in export["proposals"]}
    assert "Benches in every neighbourhood" in titles and len(titles) == 5
    assert not {"Secret draft proposal", "Proposal in a secret space"} & titles
    budget = export["spaces"][0]
    assert "Draft" not in {c["name"]["en"] for c in budget["components"]}
    assert all(c["body"] != "A comment nobody may export." for c in export["comments"])
    tables = read_zip((await fetch(web, "/export.zip"))[2])
    assert {r["slug"] for r in tables["spaces"][1]} == {"budget-2027", "neighbourhoods"}
    assert not any("Secret" in r["title"] for r in tables["proposals"][1])
    assert not any("nobody may export" in r["body"] for r in tables["comments"][1])


async def test_no_personal_data_in_any_export(web, app):
    # The node's own address (its base URL, and its host in supports_by_origin) is not personal.
    node_host = app[SETTINGS].base_url.split("://", 1)[1]
    await seeded(app)
    for path in ("/export.json", "/spaces/budget-2027/export.json"):
        text = (await fetch(web, path))[2].decode("utf-8")
        assert EMAIL_DOMAIN not in text and "@" + EMAIL_DOMAIN not in text and "argon2" not in text
        assert "127.0.0.1" not in text.replace(app[SETTINGS].base_url, "").replace(node_host, "")
    for path in ("/export.zip", "/spaces/budget-2027/export.zip"):
        with zipfile.ZipFile(io.BytesIO((await fetch(web, path))[2])) as archive:
            for name in archive.namelist():
                content = archive.read(name).decode("utf-8")
                assert EMAIL_DOMAIN not in content and "argon2" not in content, name
                assert "127.0.0.1" not in content.replace(app[SETTINGS].base_url, "").replace(node_host, ""), name


async def test_the_space_page_links_to_its_open_data(web, app):
    await seeded(app)
    page = await web.get("/spaces/budget-2027")
    assert 'href="/spaces/budget-2027/export.json"' in page.text
    assert 'href="/spaces/budget-2027/export.zip"' in page.text
    assert 'href="/export.zip"' in (await web.get("/spaces")).text
    await log_in(web, app, "alice_admin", role="admin")
    assert "/spaces/secret-space/export" not in (await web.get("/spaces/secret-space")).text


async def test_too_many_exports_at_once_are_asked_to_wait(web, app):
    await seeded(app)
    slots = app[EXPORT_SLOTS]
    for _ in range(CONCURRENT_EXPORTS):
        await slots.acquire()
    try:
        status, headers, body = await fetch(web, "/export.zip")
        assert status == 429 and headers["Retry-After"] == "30"
        assert b"Other open-data downloads are being prepared." in body
    finally:
        for _ in range(CONCURRENT_EXPORTS):
            slots.release()
    assert (await fetch(web, "/export.zip"))[0] == 200


async def test_an_empty_node_exports_empty_files(web, app):
    export = json.loads((await fetch(web, "/export.json"))[2])
    assert {k: export[k] for k in ("spaces", "proposals", "debates", "comments")} == {
        "spaces": [], "proposals": [], "debates": [], "comments": []}
    tables = read_zip((await fetch(web, "/export.zip"))[2])
    assert set(tables) == TABLES and all(rows == [] for _header, rows in tables.values())


async def test_queries_do_not_grow_with_the_number_of_rows(app, monkeypatch):
    from sqlalchemy import event

    from node.appkeys import ENGINE
    from node.opendata import sources
    from node.opendata.formats import write_csv_zip, write_json
    from node.opendata.sources import load_scope
    from tests.proposals_fixtures import make_proposal, space_with_component
    from tests.spaces_support import make_user

    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    statements = []
    engine = app[ENGINE].sync_engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731

    async def run(write) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            scope = await load_scope(app[DB], "https://node.example", space.slug)
            chunks = []

            async def sink(data):
                chunks.append(data)
            await write(app[DB], scope, sink)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    for n in range(3):
        await make_proposal(app, space, component, author, title=f"Proposal number {n} about trees")
    few = {write: await run(write) for write in (write_json, write_csv_zip)}
    for n in range(3, 12):
        await make_proposal(app, space, component, author, title=f"Proposal number {n} about trees")
    assert {write: await run(write) for write in (write_json, write_csv_zip)} == few
    # In batches: 12 rows in batches of 5 cost two more batches than one batch, each batch of
    # proposals reading its rows, their versions, their counts per node and their informal counts.
    monkeypatch.setattr(sources, "BATCH", 5)
    assert await run(write_json) <= few[write_json] + 2 * 4
