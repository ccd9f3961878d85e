"""The administrators' "Permissions" page of a component: validation (422 next to the field,
nothing stored), the action log, who may open it, CSRF, and nothing new in the public API or the
open-data export."""
from __future__ import annotations

from sqlalchemy import select

from node.appkeys import DB
from node.moderation.models import AdminAction
from node.spaces.models import Component
from tests.helpers import csrf_from
from tests.proposals_fixtures import list_path, space_with_component
from tests.spaces_support import admin_web, count, log_in, make_space  # noqa: F401 (fixture)


def page_path(space, component) -> str:
    return f"/admin/spaces/{space.id}/components/{component.id}/permissions"


async def send(web, path: str, form: dict):
    """POST the form as a browser would, several values for a list (checkboxes)."""
    pairs = [("_csrf", csrf_from((await web.get(path)).text))]
    for name, value in form.items():
        pairs.extend((name, item) for item in (value if isinstance(value, list) else [value]))
    async with web.session.post(web.base + path, data=pairs) as response:
        return await web._page(response)


async def stored(app, component) -> dict:
    async with app[DB]() as db:
        return (await db.get(Component, component.id)).settings.get("permissions")


async def test_admin_sets_permissions_and_the_change_is_logged(admin_web, app):
    space, component, _ = await space_with_component(app)
    path = page_path(space, component)
    page = await admin_web.get(path)
    assert page.status == 200
    for legend in ("Create proposals", "Support proposals", "Amend proposals", "Comment on proposals"):
        assert f"<legend>{legend}</legend>" in page.text
    assert 'name="handlers.support" value="census"' in page.text and "Verified in person" in page.text
    assert "Required verification (one of):" in page.text
    # The component's own admin page links to it.
    edit = await admin_web.get(f"/admin/spaces/{space.id}/components/{component.id}")
    assert f'href="{path}"' in edit.text
    form = {"handlers.support": ["census", "manual"], "postal_codes.support": "08001\n08002, 08003 ,08001",
            "min_age.support": "16", "handlers.comment": "email_domain", "postal_codes.create": "", "min_age.create": ""}
    saved = await send(admin_web, path, form)
    assert saved.status == 200 and "Your changes were saved." in saved.text
    assert "08001\n08002\n08003</textarea>" in saved.text and 'value="16"' in saved.text
    new = {"support": {"handlers": ["census", "manual"], "postal_codes": ["08001", "08002", "08003"], "min_age": 16},
           "comment": {"handlers": ["email_domain"], "postal_codes": [], "min_age": 0}}
    assert await stored(app, component) == new
    async with app[DB]() as db:
        logged = (await db.scalars(select(AdminAction).where(AdminAction.action == "permissions.changed"))).all()
    assert len(logged) == 1 and logged[0].subject_type == "component" and logged[0].subject_id == component.id
    assert logged[0].data == {"space_id": space.id, "old": {}, "new": new}
    # Saving the same again changes nothing and logs nothing; clearing an action is logged.
    await send(admin_web, path, form)
    assert await count(app, AdminAction, AdminAction.action == "permissions.changed") == 1
    await send(admin_web, path, {**form, "handlers.comment": []})
    assert await stored(app, component) == {"support": new["support"]}
    async with app[DB]() as db:
        last = await db.scalar(select(AdminAction).order_by(AdminAction.id.desc()))
    assert last.data["old"] == new and last.data["new"] == {"support": new["support"]}
    # The public page tells residents before they click.
    public = await admin_web.get(list_path(space, component))
    assert "a postal code among: 08001, 08002, 08003" in public.text


async def test_the_generic_settings_form_keeps_the_permissions(admin_web, app):
    space, component, _ = await space_with_component(app)
    path = page_path(space, component)
    await send(admin_web, path, {"handlers.support": "census"})
    edit = f"/admin/spaces/{space.id}/components/{component.id}"
    page = await admin_web.post(edit, {"name.en": "Ideas", "results_visibility": "always", "default_order": "recent",
                                       "creation_enabled": "1", "supports_enabled": "1"}, csrf_from_path=edit)
    assert page.status == 200, page.text[:500]
    assert await stored(app, component) == {"support": {"handlers": ["census"], "postal_codes": [], "min_age": 0}}


async def test_invalid_input_is_refused_next_to_the_field_and_nothing_is_stored(admin_web, app):
    space, component, _ = await space_with_component(app)
    path = page_path(space, component)
    cases = [
        ({"handlers.support": "census", "postal_codes.support": "08001, <b>8</b>"}, "f-postal-codes-support-error",
         "A postal code has only letters, digits, spaces and dashes"),
        ({"handlers.support": "census", "postal_codes.support": "\n".join(f"{n:05d}" for n in range(201))},
         "f-postal-codes-support-error", "Enter at most 200 postal codes; there are 201."),
        ({"handlers.support": "census", "postal_codes.support": "A" * 21}, "f-postal-codes-support-error",
         "at most 20 characters"),
        ({"handlers.support": "census", "min_age.support": "121"}, "f-min-age-support-error",
         "Enter a whole number from 0 to 120."),
        ({"handlers.support": "census", "min_age.support": "sixteen"}, "f-min-age-support-error",
         "Enter a whole number from 0 to 120."),
        ({"handlers.support": "census", "min_age.support": "-1"}, "f-min-age-support-error",
         "Enter a whole number from 0 to 120."),
        ({"postal_codes.amend": "08001"}, "f-handlers-amend-error", "Choose at least one verification"),
        ({"handlers.create": "passport"}, "f-handlers-create-error", "Choose verifications from the list."),
    ]
    for form, error_id, message in cases:
        page = await send(admin_web, path, form)
        assert page.status == 422, (form, page.status)
        assert f'id="{error_id}">' in page.text and message in page.text, (form, page.text[:3000])
        assert 'aria-invalid="true"' in page.text or "handlers" in error_id
        assert "&lt;b&gt;" in page.text or "<b>" not in str(form)  # what was typed comes back, escaped
        assert await stored(app, component) is None
    assert await count(app, AdminAction, AdminAction.action == "permissions.changed") == 0
    # Letters, spaces and dashes are fine; codes are compared in upper case.
    page = await send(admin_web, path, {"handlers.support": "census", "postal_codes.support": "sw1a 1aa\nAD-500"})
    assert page.status == 200 and (await stored(app, component))["support"]["postal_codes"] == ["SW1A 1AA", "AD-500"]


async def test_only_administrators_change_permissions_and_csrf_is_required(web, app):
    space, component, _ = await space_with_component(app)
    path = page_path(space, component)
    anonymous = await web.get(path, allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")
    await log_in(web, app, "jordi")
    assert (await web.get(path)).status == 403
    refused = await web.post(path, {"handlers.support": "census"}, csrf_from_path="/")
    assert refused.status == 403 and await stored(app, component) is None
    await log_in(web, app, "moderator_mo", role="moderator")
    assert (await web.get(path)).status == 403
    await log_in(web, app, "alice_admin", role="admin")
    forged = await web.post(path, {"handlers.support": "census"}, csrf=False)
    assert forged.status == 403 and "security token" in forged.text
    forged = await web.post(path, {"handlers.support": "census", "_csrf": "not-a-token"}, csrf=False)
    assert forged.status == 403 and await stored(app, component) is None
    assert await count(app, AdminAction) == 0


async def test_components_without_actions_have_no_permissions_page(admin_web, app):
    space, _, page_component = await make_space(app, page_body={"en": "Hello"})
    assert (await admin_web.get(page_path(space, page_component))).status == 404
    other, component, _ = await space_with_component(app, slug="another")
    # A component of another space at this space's address does not exist.
    assert (await admin_web.get(f"/admin/spaces/{space.id}/components/{component.id}/permissions")).status == 404


async def test_the_public_api_and_the_export_say_nothing_new(admin_web, app, web):
    space, component, _ = await space_with_component(app)
    async with app[DB].begin() as db:
        (await db.get(Component, component.id)).published = True
    path = page_path(space, component)
    saved = await send(admin_web, path, {"handlers.support": "census", "postal_codes.support": "08001\n75011",
                                         "min_age.support": "17"})
    assert saved.status == 200 and await stored(app, component)
    for address in (f"/api/spaces/{space.slug}", "/api/spaces", f"/api/spaces/{space.slug}/proposals",
                    f"/spaces/{space.slug}/export.json", "/export.json"):
        answer = await web.get(address)
        assert answer.status == 200, address
        assert "75011" not in answer.text and "permissions" not in answer.text and "census" not in answer.text, address
