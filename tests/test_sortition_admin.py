"""Citizens' panel selection from the admin: the two CSV files uploaded, LEXIMIN or LEGACY run off
the event loop, the quota table, the panel, the probability chart and the JSON download; quotas
no panel can meet and bad files answered in the form (422), nothing kept."""
from __future__ import annotations

import json
import threading
from pathlib import Path

from aiohttp import FormData
from sqlalchemy import select

from node.appkeys import DB
from node.components.sortitions import panel_admin
from node.components.sortitions.models import PanelSelection
from node.components.sortitions.panel import select_panel
from node.spaces.service import add_component
from tests.helpers import csrf_from
from tests.spaces_support import count, log_in, make_space

EXAMPLE = Path(__file__).parent / "data" / "sortition" / "example_small_20"
CATEGORIES = (EXAMPLE / "categories.csv").read_bytes()
RESPONDENTS = (EXAMPLE / "respondents.csv").read_bytes()


async def panels_page(app):
    space, _, _ = await make_space(app, "assembly-2027", kind="assembly")
    async with app[DB].begin() as db:
        component = await add_component(db, space, "sortitions", {"name": {"en": "Citizens' assembly"}})
    return f"/admin/spaces/{space.id}/components/{component.id}/panels"


async def upload(web, path: str, categories=CATEGORIES, respondents=RESPONDENTS, **fields):
    form = FormData()
    form.add_field("_csrf", csrf_from((await web.get(path)).text))
    for name, content in (("categories", categories), ("respondents", respondents)):
        if content is not None:
            form.add_field(name, content.encode() if isinstance(content, str) else content,
                           filename=f"{name}.csv", content_type="text/csv")
    for name, value in {"size": "20", "algorithm": "leximin", "seed": "assembly-2027", **fields}.items():
        form.add_field(name, value)
    async with web.session.post(web.base + path, data=form) as response:
        return await web._page(response)


async def test_leximin_panel_with_quota_table_chart_and_download(web, app, monkeypatch):
    path = await panels_page(app)
    await log_in(web, app, "alice_admin", role="admin")
    form = await web.get(path)
    assert form.status == 200 and 'enctype="multipart/form-data"' in form.text
    assert 'name="categories"' in form.text and 'name="respondents"' in form.text and 'name="_csrf"' in form.text

    threads = []
    compute = panel_admin.compute

    def recording(fields):
        threads.append(threading.current_thread() is threading.main_thread())
        return compute(fields)

    monkeypatch.setattr(panel_admin, "compute", recording)
    page = await upload(web, path)
    assert page.status == 200, page.text[-3000:]
    assert threads == [False]  # the solver ran in a worker thread, not on the event loop
    assert "Selected panel" in page.text and "LEXIMIN" in page.text and "10.00 %" in page.text
    # The quota table: per value, min, max, pool and panel counts.
    assert "<td>gender</td><td>female</td><td>9</td><td>20</td>" in page.text
    assert page.text.count("<svg ") >= 1 and 'aria-hidden="true"' in page.text  # bars beside their numbers
    async with app[DB]() as db:
        selection = await db.scalar(select(PanelSelection))
    expected = select_panel(EXAMPLE / "categories.csv", EXAMPLE / "respondents.csv", 20, seed="assembly-2027")
    assert selection.result["panel"] == expected["panel"]
    for quota in selection.result["quotas"]:
        assert quota["min"] <= quota["panel"] <= quota["max"]
    assert sum(q["pool"] for q in selection.result["quotas"] if q["category"] == "gender") == 200
    for ident in expected["panel"]:
        assert f"<code>{ident}</code>" in page.text

    download = await web.get(page.url.split("?")[0].removeprefix(web.base) + ".json")
    assert download.status == 200 and "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.text)
    assert set(data) == {"algorithm", "seed", "size", "pool", "panel", "probabilities", "min_probability", "quotas"}
    assert data["panel"] == expected["panel"] and abs(data["min_probability"] - 0.10) < 1e-6
    assert len(data["probabilities"]) == 200
    assert "conservative" not in json.dumps(data["probabilities"]) and "groups" not in data

    listing = await web.get(path)
    assert "Previous selections" in listing.text and "10.00 %" in listing.text


async def test_legacy_shows_its_unequal_chances(web, app):
    path = await panels_page(app)
    await log_in(web, app, "alice_admin", role="admin")
    page = await upload(web, path, algorithm="legacy", seed="42")
    assert page.status == 200 and "LEGACY" in page.text and "probabilities estimated from 10000 panels" in page.text
    async with app[DB]() as db:
        selection = await db.scalar(select(PanelSelection))
    assert selection.min_probability < 0.05
    assert selection.result["groups"][0]["probability"] == selection.min_probability  # lowest chance first


async def test_infeasible_quotas_are_explained_in_the_form(web, app):
    path = await panels_page(app)
    await log_in(web, app, "alice_admin", role="admin")
    impossible = ("category,feature,min,max\ngender,female,15,20\ngender,male,0,20\n"
                  "leaning,liberal,0,5\nleaning,conservative,0,20\n")
    page = await upload(web, path, categories=impossible)
    assert page.status == 422
    assert "The panel cannot be selected" in page.text
    assert "the quotas of gender and leaning cannot be met together by a panel of 20" in page.text
    assert "Traceback" not in page.text and await count(app, PanelSelection) == 0
    too_big = await upload(web, path, size="201")
    assert too_big.status == 422 and "larger than the pool of 200 respondents" in too_big.text


async def test_bad_files_and_fields_get_clear_errors(web, app):
    path = await panels_page(app)
    await log_in(web, app, "alice_admin", role="admin")
    missing_column = await upload(web, path, categories="category,feature,min\ngender,female,1\n")
    assert missing_column.status == 422
    assert "categories.csv must have the columns category, feature, min, max (missing: max)" in missing_column.text
    unknown = await upload(web, path, respondents="gender,leaning\nfemale,liberal\nother,liberal\n")
    assert unknown.status == 422 and "respondents.csv line 3: gender has &#39;other&#39;" in unknown.text
    not_utf8 = await upload(web, path, respondents="gender,leaning\nfémale,liberal\n".encode("latin-1"))
    assert not_utf8.status == 422 and "This file is not text in UTF-8" in not_utf8.text
    no_file = await upload(web, path, respondents=None, size="zero", algorithm="random")
    assert no_file.status == 422
    for message in ("Choose a CSV file to upload.", "Enter a whole number from 1 to 10000.",
                    "Choose one of the algorithms offered."):
        assert message in no_file.text, message
    assert 'value="zero"' in no_file.text  # what was typed is kept
    assert await count(app, PanelSelection) == 0


async def test_only_admins_select_panels(web, app):
    path = await panels_page(app)
    await log_in(web, app, "amelie")
    assert (await web.get(path)).status == 403
    refused = await upload(web, path)
    assert refused.status == 403 and await count(app, PanelSelection) == 0
    assert (await web.get(path + "/1")).status == 403 and (await web.get(path + "/1.json")).status == 403
