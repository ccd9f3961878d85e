"""Admin of spaces, phases and components, end to end through the forms."""
from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from node.appkeys import DB
from node.spaces.models import Component, Phase, Space
from tests.helpers import csrf_from
from tests.spaces_support import admin_web, count, log_in, make_space  # noqa: F401


def space_form(**changes) -> dict:
    form = {"kind": "process", "slug": "budget-2027", "federation_policy": "local",
            "title.en": "Participatory budget 2027", "title.fr": "Budget participatif 2027",
            "subtitle.en": "Half a million for your ideas", "description.en": "What we will do.",
            "description.ca": "Què farem."}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def create(web, **changes):
    return await web.post("/admin/spaces/new", space_form(**changes), csrf_from_path="/admin/spaces/new")


async def test_create_edit_and_publish_a_space(admin_web, web, app):
    page = await create(admin_web)
    assert page.status == 200 and "Created." in page.text
    space_id = int(re.search(r"/admin/spaces/(\d+)", page.url).group(1))
    assert "Not published" in page.text
    assert (await web.get("/spaces/budget-2027")).status == 200  # the admin sees the draft
    edit_path = f"/admin/spaces/{space_id}/edit"
    form_page = await admin_web.get(edit_path)
    assert 'value="Participatory budget 2027"' in form_page.text and "Què farem." in form_page.text
    assert '<fieldset lang="ca">' in form_page.text
    page = await admin_web.post(edit_path, space_form(**{"title.es": "Presupuestos 2027"}), csrf_from_path=edit_path)
    assert page.status == 200 and "Your changes were saved." in page.text
    page = await admin_web.post(f"/admin/spaces/{space_id}/publish", {"published": "1"},
                                csrf_from_path=f"/admin/spaces/{space_id}")
    assert "Published: everyone can see it now." in page.text
    async with app[DB]() as db:
        space = await db.get(Space, space_id)
    assert space.published and space.title["es"] == "Presupuestos 2027"
    assert space.description == {"en": "What we will do.", "ca": "Què farem."}
    listing = await admin_web.get("/admin/spaces")
    assert "/spaces/budget-2027" in listing.text


@pytest.mark.parametrize("changes, field_id, message", [
    ({"slug": "Not A Slug!"}, "f-slug", "Use 3 to 64 lower-case letters, digits or hyphens."),
    ({"slug": "admin"}, "f-slug", "This address is reserved"),
    ({"title.en": ""}, "f-title-en", "Enter a title, at least in the node&#39;s default language."),
    ({"title.en": "x" * 201}, "f-title-en", "Use at most 200 characters."),
    ({"description.fr": "x" * 20_001}, "f-description-fr", "Use at most 20000 characters."),
    ({"kind": "party"}, "f-kind", "Choose a participatory process or an assembly."),
    ({"kind": None, "slug": None}, "f-slug", "Use 3 to 64"),  # a malformed form
])
async def test_invalid_space_forms_are_422_next_to_the_field_and_store_nothing(admin_web, app, changes,
                                                                             field_id, message):
    page = await create(admin_web, **changes)
    assert page.status == 422
    assert message in page.text
    assert f'id="{field_id}"' in page.text and f'id="{field_id}-error"' in page.text
    assert 'aria-invalid="true"' in page.text
    assert "Half a million for your ideas" in page.text  # input kept
    assert await count(app, Space) == 0


async def test_duplicate_slug_is_refused(admin_web, app):
    await make_space(app, "budget-2027")
    page = await create(admin_web)
    assert page.status == 422 and "Another space already uses this address." in page.text
    assert await count(app, Space) == 1


async def test_space_form_without_csrf_is_refused(admin_web, app):
    await admin_web.get("/admin/spaces/new")
    page = await admin_web.post("/admin/spaces/new", space_form(), csrf=False)
    assert page.status == 403
    assert await count(app, Space) == 0


async def test_non_admins_cannot_create_spaces(web, app):
    await log_in(web, app, "bob")
    page = await web.post("/admin/spaces/new", space_form(), csrf_from_path="/")
    assert page.status == 403
    assert await count(app, Space) == 0


async def test_unknown_space_in_admin_is_404(admin_web):
    assert (await admin_web.get("/admin/spaces/999")).status == 404
    assert (await admin_web.get("/admin/spaces/999/edit")).status == 404


# --- phases ---------------------------------------------------------------------------------

def phase_form(**changes) -> dict:
    form = {"title.en": "Proposals", "title.fr": "Propositions", "start_date": "2027-01-10",
            "end_date": "2027-02-28", "description.en": "Send your ideas."}
    form.update(changes)
    return form


async def test_phases_add_edit_activate_reorder_delete(admin_web, web, app):
    space, _, _ = await make_space(app)
    base = f"/admin/spaces/{space.id}"
    for title in ("Proposals", "Review", "Vote"):
        page = await admin_web.post(f"{base}/phases/new", phase_form(**{"title.en": title}),
                                    csrf_from_path=f"{base}/phases/new")
        assert page.status == 200, page.text
    async with app[DB]() as db:
        phases = (await db.scalars(select(Phase).order_by(Phase.position))).all()
    assert [p.active for p in phases] == [True, False, False]
    first, second, third = phases

    page = await admin_web.post(f"{base}/phases/{third.id}/activate", {}, csrf_from_path=base)
    assert "This phase is now the active one." in page.text
    public = await web.get("/spaces/budget-2027")
    assert "Vote" in public.text.split('aria-current="step"')[1].split("</li>")[0]

    page = await admin_web.post(f"{base}/phases/{second.id}", phase_form(**{"title.en": "Technical review"}),
                                csrf_from_path=f"{base}/phases/{second.id}")
    assert "Technical review" in page.text
    await admin_web.post(f"{base}/phases/{third.id}/move", {"direction": "up"}, csrf_from_path=base)
    async with app[DB]() as db:
        order = (await db.scalars(select(Phase.id).order_by(Phase.position))).all()
    assert order == [first.id, third.id, second.id]

    await admin_web.post(f"{base}/phases/{third.id}/delete", {}, csrf_from_path=base)
    async with app[DB]() as db:
        left = (await db.scalars(select(Phase).order_by(Phase.position))).all()
    assert [(p.id, p.position, p.active) for p in left] == [(first.id, 0, True), (second.id, 1, False)]


@pytest.mark.parametrize("changes, message", [
    ({"end_date": "2027-01-01"}, "The end date must be on or after the start date."),
    ({"start_date": "31/12/2027"}, "Enter a date like 2027-03-31."),
    ({"title.en": "", "title.fr": ""}, "Enter the phase&#39;s title in at least one language."),
    ({"title.fr": "x" * 201}, "Use at most 200 characters."),
])
async def test_invalid_phase_forms_store_nothing(admin_web, app, changes, message):
    space, _, _ = await make_space(app)
    path = f"/admin/spaces/{space.id}/phases/new"
    page = await admin_web.post(path, phase_form(**changes), csrf_from_path=path)
    assert page.status == 422 and message in page.text
    assert "Send your ideas." in page.text
    assert await count(app, Phase) == 0


async def test_two_quick_activations_through_the_admin_leave_one_active_phase(admin_web, app):
    space, phases, _ = await make_space(app, phases=3)
    base = f"/admin/spaces/{space.id}"
    token = csrf_from((await admin_web.get(base)).text)
    await asyncio.gather(*(admin_web.post(f"{base}/phases/{p.id}/activate", {}, csrf=token)
                           for p in phases[1:]))
    assert await count(app, Phase, Phase.active.is_(True)) == 1


async def test_phase_of_another_space_is_404(admin_web, app):
    space, _, _ = await make_space(app)
    _other, phases, _ = await make_space(app, "other-space", phases=1)
    page = await admin_web.post(f"/admin/spaces/{space.id}/phases/{phases[0].id}/delete", {},
                                csrf_from_path=f"/admin/spaces/{space.id}")
    assert page.status == 404
    assert await count(app, Phase) == 1


# --- components -----------------------------------------------------------------------------

async def test_add_edit_publish_a_pages_component(admin_web, web, app):
    space, _, _ = await make_space(app)
    base = f"/admin/spaces/{space.id}"
    page = await admin_web.post(f"{base}/components", {"kind": "pages"}, csrf_from_path=base)
    assert page.status == 200 and "Created." in page.text
    async with app[DB]() as db:
        component = await db.scalar(select(Component))
    assert component.settings == {"body": {}} and not component.published
    assert (await web.get(f"/spaces/budget-2027/c/{component.id}")).status == 200  # admin
    edit = f"{base}/components/{component.id}"
    page = await admin_web.post(edit, {"name.en": "How it works", "name.fr": "Comment ça marche",
                                       "body.en": "## Steps\n\n1. Propose\n2. Vote",
                                       "body.fr": "Proposez, puis votez."}, csrf_from_path=edit)
    assert page.status == 200 and "Your changes were saved." in page.text
    assert "Proposez, puis votez." in page.text
    await admin_web.post(f"{edit}/publish", {}, csrf_from_path=base)
    async with app[DB]() as db:
        component = await db.get(Component, component.id)
    assert component.published and component.settings["body"]["fr"] == "Proposez, puis votez."

    public = await web.get(f"/spaces/budget-2027/c/{component.id}", headers={"Accept-Language": "en"})
    assert "<h1>How it works</h1>" in public.text
    assert re.search(r"<ol>\s*<li>Propose</li>\s*<li>Vote</li>\s*</ol>", public.text)


async def test_unknown_component_kind_is_refused(admin_web, app):
    space, _, _ = await make_space(app)
    base = f"/admin/spaces/{space.id}"
    page = await admin_web.post(f"{base}/components", {"kind": "nuclear-launch"}, csrf_from_path=base)
    assert page.status == 422 and "Choose one of the component kinds offered." in page.text
    assert 'id="f-kind-error"' in page.text
    assert await count(app, Component) == 0


async def test_component_errors_keep_the_input(admin_web, app):
    space, _, component = await make_space(app, page_body={"en": "Old text"})
    edit = f"/admin/spaces/{space.id}/components/{component.id}"
    page = await admin_web.post(edit, {"name.en": "", "body.en": "New text", "body.ca": "x" * 50_001},
                                csrf_from_path=edit)
    assert page.status == 422
    assert "Enter the component&#39;s name in at least one language." in page.text
    assert "Use at most 50000 characters." in page.text and "New text" in page.text
    async with app[DB]() as db:
        stored = await db.get(Component, component.id)
    assert stored.settings["body"] == {"en": "Old text"} and stored.name["en"] == "How it works"


async def test_components_reorder_unpublish_and_delete(admin_web, web, app):
    space, _, first = await make_space(app, page_body={"en": "one"})
    base = f"/admin/spaces/{space.id}"
    await admin_web.post(f"{base}/components", {"kind": "pages"}, csrf_from_path=base)
    async with app[DB]() as db:
        second = await db.scalar(select(Component).where(Component.id != first.id))
    await admin_web.post(f"{base}/components/{second.id}/move", {"direction": "up"}, csrf_from_path=base)
    async with app[DB]() as db:
        assert (await db.scalars(select(Component.id).order_by(Component.position))).all() == [second.id, first.id]
    await admin_web.post(f"{base}/components/{first.id}/unpublish", {}, csrf_from_path=base)
    await admin_web.post(f"{base}/components/{second.id}/delete", {}, csrf_from_path=base)
    assert await count(app, Component) == 1
    await admin_web.post("/logout", {}, csrf_from_path="/")
    assert (await web.get(f"/spaces/budget-2027/c/{first.id}")).status == 404
