"""The admin area through its forms: access, node settings, users and roles."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB, NODE_INFO
from node.nodemodels import NodeSetting
from tests.spaces_support import admin_web, count, log_in, make_user  # noqa: F401

ADMIN_PAGES = ["/admin", "/admin/settings", "/admin/spaces", "/admin/spaces/new", "/admin/users"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
async def test_anonymous_visitors_are_sent_to_log_in(web, path):
    page = await web.get(path, allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"].startswith("/login?next=")


async def test_residents_and_moderators_get_403(web, app):
    await log_in(web, app, "bob", role="moderator")
    for path in ADMIN_PAGES:
        page = await web.get(path)
        assert page.status == 403, path
        assert "administrators" in page.text
    page = await web.post("/admin/settings", {"node_name": "Hijacked", "default_locale": "en"},
                          csrf_from_path="/")
    assert page.status == 403
    assert await count(app, NodeSetting) == 0


async def test_dashboard_counts(admin_web, app):
    await make_user(app, "bob")
    page = await admin_web.get("/admin")
    assert page.status == 200
    assert "<dt>Users</dt><dd>2</dd>" in page.text.replace("\n", "").replace("  ", "")


def settings_form(**changes) -> dict:
    form = {"node_name": "Villeneuve", "description.fr": "La participation à Villeneuve.",
            "description.en": "Participation in Villeneuve.", "default_locale": "en",
            "registration_open": "1", "contact_email": "mairie@villeneuve.example"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def test_node_settings_change_shows_on_the_home_page(admin_web, app):
    page = await admin_web.post("/admin/settings", settings_form(), csrf_from_path="/admin/settings")
    assert page.status == 200 and "Your changes were saved." in page.text
    assert app[NODE_INFO]["node_name"] == "Villeneuve"
    home = await admin_web.get("/")
    assert "Villeneuve" in home.text and "Participation in Villeneuve." in home.text
    assert "mailto:mairie@villeneuve.example" in home.text
    french = await admin_web.get("/", headers={"Accept-Language": "fr"})
    assert "La participation à Villeneuve." in french.text


async def test_closing_registration_hides_the_register_link(admin_web, web, app):
    await admin_web.post("/admin/settings", settings_form(registration_open=None), csrf_from_path="/admin/settings")
    assert app[NODE_INFO]["registration_open"] is False
    async with app[DB]() as db:
        assert (await db.get(NodeSetting, "registration_open")).value is False


@pytest.mark.parametrize("changes, message", [
    ({"node_name": ""}, "Enter the node&#39;s name."),
    ({"node_name": "x" * 101}, "Use at most 100 characters."),
    ({"default_locale": "de"}, "Choose one of the languages offered."),
    ({"contact_email": "not-an-address"}, "Enter an email address like name@example.org"),
    ({"description.es": "x" * 1001}, "Use at most 1000 characters."),
])
async def test_node_settings_errors_keep_the_input(admin_web, app, changes, message):
    form = settings_form(**changes)
    page = await admin_web.post("/admin/settings", form, csrf_from_path="/admin/settings")
    assert page.status == 422
    assert message in page.text
    assert 'aria-invalid="true"' in page.text
    assert "Participation in Villeneuve." in page.text  # what was typed is still there
    assert await count(app, NodeSetting) == 0
    assert app[NODE_INFO]["node_name"] == "Testville"


async def test_node_settings_without_csrf_token_are_refused(admin_web, app):
    page = await admin_web.post("/admin/settings", settings_form(), csrf=False)
    assert page.status == 403 and "security token" in page.text
    assert await count(app, NodeSetting) == 0


async def test_users_search_and_role_change(admin_web, app):
    bob = await make_user(app, "bob_smith")
    await make_user(app, "carol")
    page = await admin_web.get("/admin/users?q=SMITH")
    assert "@bob_smith" in page.text and "@carol" not in page.text
    page = await admin_web.get("/admin/users?q=%25")  # a literal %, not a wildcard
    assert "@bob_smith" not in page.text
    page = await admin_web.post(f"/admin/users/{bob.id}/role", {"role": "moderator"},
                                csrf_from_path="/admin/users")
    assert page.status == 200 and "The role was changed." in page.text
    async with app[DB]() as db:
        assert (await db.get(User, bob.id)).role == "moderator"


async def test_unknown_role_is_refused(admin_web, app):
    bob = await make_user(app, "bob")
    page = await admin_web.post(f"/admin/users/{bob.id}/role", {"role": "king"}, csrf_from_path="/admin/users")
    assert page.status == 422
    async with app[DB]() as db:
        assert (await db.get(User, bob.id)).role == "user"


async def test_the_last_admin_cannot_demote_themselves(admin_web, app):
    async with app[DB]() as db:
        me = await db.scalar(select(User).where(User.username == "alice_admin"))
    page = await admin_web.post(f"/admin/users/{me.id}/role", {"role": "user"}, csrf_from_path="/admin/users")
    assert page.status == 422
    assert "administrator" in page.text and 'aria-invalid="true"' in page.text
    assert await count(app, User, User.role == "admin") == 1


async def test_an_admin_can_step_down_when_another_admin_remains(admin_web, app):
    await make_user(app, "dora", role="admin")
    async with app[DB]() as db:
        me = await db.scalar(select(User).where(User.username == "alice_admin"))
    page = await admin_web.post(f"/admin/users/{me.id}/role", {"role": "moderator"},
                                csrf_from_path="/admin/users", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/"
    assert (await admin_web.get("/admin")).status == 403
    assert await count(app, User, User.role == "admin") == 1


async def test_role_change_of_unknown_user_is_404(admin_web):
    page = await admin_web.post("/admin/users/9999/role", {"role": "user"}, csrf_from_path="/admin/users")
    assert page.status == 404


async def test_another_process_of_the_node_sees_settings_changes(app, server, web):
    """Two `civicnode serve` processes share one database: the second picks up an admin's change
    once its cached copy is older than REFRESH_SECONDS."""
    from node.appkeys import NODE_INFO, NODE_INFO_LOADED
    from node.site import REFRESH_SECONDS, save_node_info

    async with app[DB].begin() as db:
        await save_node_info(db, {"node_name": "Changed elsewhere"})
    assert "Changed elsewhere" not in (await web.get("/")).text  # still cached here
    app[NODE_INFO_LOADED]["at"] -= REFRESH_SECONDS + 1  # as if the cache had aged
    assert "Changed elsewhere" in (await web.get("/")).text
    assert app[NODE_INFO]["node_name"] == "Changed elsewhere"
