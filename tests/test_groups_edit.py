"""Editing a group (its administrators only; bad input re-rendered with 422 and nothing saved;
renaming a verified group withdraws the verification and is in the action log), and the paged
/groups and /admin/groups listings with the admin page's verified / not verified filters."""
from __future__ import annotations

from sqlalchemy import select

from node.appkeys import DB
from node.groups import service
from node.groups.acting import publishable_groups
from node.groups.admin_views import PER_PAGE as ADMIN_PER_PAGE
from node.groups.pages import PER_PAGE
from node.moderation.models import AdminAction
from tests.groups_support import group_row, make_group
from tests.spaces_support import PASSWORD, count, log_in, make_user

PATH = "/groups/neighbours"
EDIT = f"{PATH}/edit"


async def edit(web, **values):
    data = {"name": "Market Square Neighbours", "about": "We meet on Tuesdays.", **values}
    return await web.post(EDIT, data, csrf_from_path=PATH)


async def renamings(app) -> list[AdminAction]:
    async with app[DB]() as db:
        return list((await db.scalars(select(AdminAction).where(AdminAction.action == "group.renamed")
                                      .order_by(AdminAction.id))).all())


async def test_only_the_groups_administrators_edit_it(web, app):
    amelie = await make_user(app, "amelie")
    jordi = await make_user(app, "jordi")
    group = await make_group(app, amelie, members=[jordi])
    anonymous = await web.get(EDIT, allow_redirects=False)
    assert anonymous.status == 303 and "/login" in anonymous.headers["Location"]
    assert 'href="/groups/neighbours/edit"' not in (await web.get(PATH)).text

    await web.login("jordi", PASSWORD)  # an accepted member, not an administrator
    assert 'href="/groups/neighbours/edit"' not in (await web.get(PATH)).text
    refused = await web.get(EDIT)
    assert refused.status == 403 and "Only the group&#39;s administrators can edit it." in refused.text
    refused = await edit(web, name="Taken Over")
    assert refused.status == 403 and (await group_row(app, group.id)).name == "Market Square Neighbours"

    await web.login("amelie", PASSWORD)
    assert 'href="/groups/neighbours/edit"' in (await web.get(PATH)).text
    form = await web.get(EDIT)
    assert form.status == 200 and 'value="Market Square Neighbours"' in form.text
    assert "We meet on Tuesdays.</textarea>" in form.text and "cannot be changed" in form.text
    page = await edit(web, name="  Market Square Residents ", about="Now on Wednesdays.\r\n\r\nAll welcome.")
    assert page.status == 200 and page.url.endswith(f"{PATH}?done=edited")
    assert "The group&#39;s details are saved." in page.text and "Market Square Residents" in page.text
    row = await group_row(app, group.id)
    assert (row.name, row.about, row.nickname) == ("Market Square Residents", "Now on Wednesdays.\n\nAll welcome.",
                                                   "neighbours")
    # An unverified group renamed: nothing for the node administrators to check again.
    assert await renamings(app) == []
    assert (await web.get("/groups/nobody_here/edit")).status == 404
    no_token = await web.post(EDIT, {"name": "Without Token"}, csrf=False)
    assert no_token.status == 403 and (await group_row(app, group.id)).name == "Market Square Residents"


async def test_bad_edit_input_is_shown_again_with_the_error_and_nothing_saved(web, app):
    amelie = await log_in(web, app, "amelie")
    group = await make_group(app, amelie)
    await make_group(app, await make_user(app, "bea"), "others", "Riverside Gardeners")
    cases = [({"name": " "}, "Enter the group&#39;s name."),
             ({"name": "x" * 101}, "Use at most 100 characters for the name."),
             ({"name": "riverside GARDENERS"}, "Another group already has this name; choose another one."),
             ({"name": "Kept Name", "about": "x" * 2001}, "Use at most 2000 characters for the description.")]
    for values, message in cases:
        page = await edit(web, **values)
        assert page.status == 422, values
        assert message in page.text and 'aria-invalid="true"' in page.text, (values, page.text[-2000:])
        # What was typed comes back, so nothing has to be typed again.
        assert f'value="{values["name"].strip() or ""}"' in page.text or not values["name"].strip()
    row = await group_row(app, group.id)
    assert (row.name, row.about) == ("Market Square Neighbours", "We meet on Tuesdays.")
    # Its own name (another case) is not "taken".
    page = await edit(web, name="MARKET square neighbours")
    assert page.status == 200 and (await group_row(app, group.id)).name == "MARKET square neighbours"


async def test_renaming_a_verified_group_withdraws_its_verification_and_is_logged(web, app):
    admin = await make_user(app, "alice_admin", role="admin")
    amelie = await make_user(app, "amelie")
    jordi = await make_user(app, "jordi")
    group = await make_group(app, amelie, verified_by=admin, members=[jordi])
    await web.login("amelie", PASSWORD)
    form = await web.get(EDIT)
    assert "If you change its name, it is no longer verified" in form.text
    # The description alone: still verified.
    page = await edit(web, about="Also on Fridays.")
    assert page.url.endswith("?done=edited")
    row = await group_row(app, group.id)
    assert row.verified_at is not None and row.about == "Also on Fridays." and await renamings(app) == []

    page = await edit(web, name="City Hall Official Committee", about="Also on Fridays.")
    assert page.status == 200 and page.url.endswith("?done=renamed")
    assert "a node administrator must verify the group again" in page.text and "Not verified" in page.text
    row = await group_row(app, group.id)
    assert row.verified_at is None and row.verified_by_id is None
    [logged] = await renamings(app)
    assert (logged.actor_id, logged.subject_type, logged.subject_id) == (amelie.id, "user_group", group.id)
    assert logged.reason == "Market Square Neighbours → City Hall Official Committee"
    assert logged.data == {"nickname": "neighbours", "old_name": "Market Square Neighbours",
                           "new_name": "City Hall Official Committee", "verification_withdrawn": True}
    async with app[DB]() as db:  # nobody publishes on its behalf until it is checked again
        assert await publishable_groups(db, jordi) == []

    await web.login("alice_admin", PASSWORD)
    log = await web.get("/admin/log")
    assert "group.renamed" in log.text and "Market Square Neighbours → City Hall Official Committee" in log.text
    pending = await web.get("/admin/groups?filter=unverified")
    assert "City Hall Official Committee" in pending.text
    assert "City Hall Official Committee" not in (await web.get("/admin/groups?filter=verified")).text
    page = await web.post(f"/admin/groups/{group.id}/verify", {"reason": "New name checked."},
                          csrf_from_path="/admin/groups")
    assert "The group is verified." in page.text and (await group_row(app, group.id)).verified_by_id == admin.id


async def test_the_public_list_pages_by_name(web, app):
    amelie = await make_user(app, "amelie")
    async with app[DB].begin() as db:
        for n in range(PER_PAGE + 1):
            await service.create_group(db, amelie, name=f"Group {n:03d}", nickname=f"group_{n:03d}")
    first = await web.get("/groups")
    assert "Group 000" in first.text and f"Group {PER_PAGE - 1:03d}" in first.text
    assert f"Group {PER_PAGE:03d}" not in first.text
    assert "Page 1 of 2" in first.text and 'href="/groups?page=2"' in first.text
    second = await web.get("/groups?page=2")
    assert second.status == 200 and f"Group {PER_PAGE:03d}" in second.text and "Group 000" not in second.text
    assert "Page 2 of 2" in second.text and 'href="/groups?page=1"' in second.text
    assert "Group 000" in (await web.get("/groups?page=nonsense")).text  # the first page, not an error
    beyond = await web.get("/groups?page=9")
    assert beyond.status == 200 and "No groups on this page." in beyond.text


async def test_the_admin_list_pages_and_filters_verified_and_not_verified(web, app):
    amelie = await make_user(app, "amelie")
    admin = await log_in(web, app, "alice_admin", role="admin")
    async with app[DB].begin() as db:
        groups = [await service.create_group(db, amelie, name=f"Group {n:03d}", nickname=f"group_{n:03d}")
                  for n in range(ADMIN_PER_PAGE + 1)]
        await service.set_verified(db, groups[0], admin, True, "Statutes checked.")
    first = await web.get("/admin/groups")
    # Newest first: the first group created is alone on page 2.
    assert "Groups: %d" % (ADMIN_PER_PAGE + 1) in first.text and "Group 000" not in first.text
    assert 'href="/admin/groups?page=2"' in first.text
    second = await web.get("/admin/groups?page=2")
    assert "Group 000" in second.text and "Group 001" not in second.text and "Page 2 of 2" in second.text
    verified = await web.get("/admin/groups?filter=verified")
    assert "Groups: 1" in verified.text and "Group 000" in verified.text and "Group 001" not in verified.text
    assert "Page 1 of" not in verified.text  # one page: no pager
    pending = await web.get("/admin/groups?filter=unverified")
    assert "Groups: %d" % ADMIN_PER_PAGE in pending.text and "Group 000" not in pending.text
    assert "Page 1 of" not in pending.text
    unknown = await web.get("/admin/groups?filter=whatever")
    assert "Groups: %d" % (ADMIN_PER_PAGE + 1) in unknown.text
    assert await count(app, AdminAction, AdminAction.action == "group.verified") == 1
