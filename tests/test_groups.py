"""User groups over HTTP: creating one (bad input refused with 422, nothing stored), inviting,
asking to join, accepting, promoting, removing, the last-administrator rule, and node
administrators verifying groups at /admin/groups, with the action log."""
from __future__ import annotations

from sqlalchemy import select

from node.appkeys import DB
from node.groups.models import GroupMembership, UserGroup
from node.moderation.models import AdminAction
from tests.groups_support import group_row, make_group, memberships
from tests.spaces_support import count, log_in, make_user


async def create(web, **values):
    data = {"name": "Market Square Neighbours", "nickname": "neighbours", "about": "We meet on Tuesdays.", **values}
    return await web.post("/groups/new", data, csrf_from_path="/groups/new")


async def test_a_logged_in_user_creates_a_group_and_is_its_admin(web, app):
    anonymous = await web.get("/groups/new", allow_redirects=False)
    assert anonymous.status == 303 and "/login" in anonymous.headers["Location"]
    amelie = await log_in(web, app, "amelie")
    page = await create(web)
    assert page.status == 200 and page.url.endswith("/groups/neighbours?done=created")
    assert "Market Square Neighbours" in page.text and "Not verified" in page.text
    assert "We meet on Tuesdays." in page.text and "Amelie" in page.text
    async with app[DB]() as db:
        group = await db.scalar(select(UserGroup).where(UserGroup.nickname == "neighbours"))
    assert group.created_by_id == amelie.id and group.verified_at is None
    assert await memberships(app, group) == {amelie.id: ("admin", "accepted")}
    listing = await web.get("/groups")
    assert 'href="/groups/neighbours"' in listing.text


async def test_bad_group_input_is_refused_with_422_and_nothing_stored(web, app):
    await make_user(app, "jordi")
    await log_in(web, app, "amelie")
    await make_group(app, await make_user(app, "bea"), "taken", "Taken Name")
    cases = [({"name": "  "}, "Enter the group&#39;s name."),
             ({"name": "taken NAME"}, "Another group already has this name; choose another one."),
             ({"name": "x" * 101}, "Use at most 100 characters for the name."),
             ({"nickname": "Not Valid!"}, "Use 3 to 30 lower-case letters, digits or underscores."),
             ({"nickname": "taken"}, "This name is already taken; choose another one."),
             ({"nickname": "jordi"}, "This name is already taken; choose another one."),  # a user's
             ({"nickname": "admin"}, "This name is reserved; choose another one."),
             ({"about": "x" * 2001}, "Use at most 2000 characters for the description.")]
    for values, message in cases:
        page = await create(web, **values)
        assert page.status == 422, values
        assert message in page.text, (values, page.text[-2000:])
    assert await count(app, UserGroup) == 1 and await count(app, GroupMembership) == 1


async def test_a_user_cannot_register_a_groups_nickname(web, app):
    await make_group(app, await make_user(app, "amelie"), "neighbours")
    password = "correct horse battery"
    page = await web.post("/register", {"username": "neighbours", "email": "n@example.org", "nickname": "N",
                                        "password": password, "password_confirm": password},
                          csrf_from_path="/register")
    assert page.status == 422 and "This name is already taken" in page.text


async def test_invite_accept_request_approve_promote_and_remove(web, app):
    amelie = await make_user(app, "amelie")
    jordi = await make_user(app, "jordi")
    group = await make_group(app, amelie)
    path = "/groups/neighbours"
    await web.login("amelie", "correct horse battery")
    page = await web.post(f"{path}/invite", {"username": "@jordi"}, csrf_from_path=path)
    assert page.status == 200 and "The invitation is sent." in page.text
    again = await web.post(f"{path}/invite", {"username": "jordi"}, csrf_from_path=path)
    assert again.status == 409 and "already invited" in again.text
    nobody = await web.post(f"{path}/invite", {"username": "ghost"}, csrf_from_path=path)
    assert nobody.status == 422 and "No member of this node has this username." in nobody.text
    # An invitation is not membership: the public page does not list Jordi yet.
    await web.post("/logout", {}, csrf_from_path=path)
    public = await web.get(path)
    assert "Jordi" not in public.text and "Amelie" in public.text

    await web.login("jordi", "correct horse battery")
    page = await web.get(path)
    assert "This group invited you." in page.text
    page = await web.post(f"{path}/accept", {}, csrf_from_path=path)
    assert "You are now a member of the group." in page.text
    assert (await memberships(app, group))[jordi.id] == ("member", "accepted")
    # Members cannot manage the group.
    refused = await web.post(f"/groups/neighbours/members/{amelie.id}/remove", {}, csrf_from_path=path)
    assert refused.status == 403 and "Only the group&#39;s administrators" in refused.text

    sam = await make_user(app, "sam")
    await web.login("sam", "correct horse battery")
    page = await web.post(f"{path}/join", {}, csrf_from_path=path)
    assert "Your request to join is sent" in page.text
    assert (await memberships(app, group))[sam.id] == ("member", "requested")

    await web.login("amelie", "correct horse battery")
    page = await web.get(path)
    assert "Requests to join" in page.text and "Sam" in page.text
    await web.post(f"{path}/members/{sam.id}/approve", {}, csrf_from_path=path)
    await web.post(f"{path}/members/{jordi.id}/promote", {}, csrf_from_path=path)
    assert (await memberships(app, group)) == {amelie.id: ("admin", "accepted"), jordi.id: ("admin", "accepted"),
                                               sam.id: ("member", "accepted")}
    page = await web.post(f"{path}/members/{sam.id}/remove", {}, csrf_from_path=path)
    assert "The member is removed from the group." in page.text
    assert sam.id not in await memberships(app, group)


async def test_refusing_a_request_and_the_last_admin_rule(web, app):
    amelie = await make_user(app, "amelie")
    jordi = await make_user(app, "jordi")
    group = await make_group(app, amelie)
    path = "/groups/neighbours"
    await web.login("jordi", "correct horse battery")
    await web.post(f"{path}/join", {}, csrf_from_path=path)
    await web.login("amelie", "correct horse battery")
    page = await web.post(f"{path}/members/{jordi.id}/refuse", {}, csrf_from_path=path)
    assert "The request is refused." in page.text
    assert await memberships(app, group) == {amelie.id: ("admin", "accepted")}
    # The last administrator can neither leave nor step down.
    for refused in (await web.post(f"{path}/leave", {}, csrf_from_path=path),
                    await web.post(f"{path}/members/{amelie.id}/demote", {}, csrf_from_path=path)):
        assert refused.status == 409 and "last administrator" in refused.text
    assert await memberships(app, group) == {amelie.id: ("admin", "accepted")}
    # With a second administrator, she can.
    await web.post(f"{path}/invite", {"username": "jordi"}, csrf_from_path=path)
    async with app[DB].begin() as db:
        row = await db.scalar(select(GroupMembership).where(GroupMembership.user_id == jordi.id))
        row.status, row.role = "accepted", "admin"
    page = await web.post(f"{path}/leave", {}, csrf_from_path=path)
    assert page.status == 200 and "You are no longer a member" in page.text
    assert await memberships(app, group) == {jordi.id: ("admin", "accepted")}


async def test_group_forms_need_the_csrf_token(web, app):
    amelie = await log_in(web, app, "amelie")
    await make_group(app, amelie)
    for path, data in (("/groups/new", {"name": "Other", "nickname": "other"}),
                       ("/groups/neighbours/leave", {}), ("/groups/neighbours/invite", {"username": "amelie"})):
        page = await web.post(path, data, csrf=False)
        assert page.status == 403, path
    assert await count(app, UserGroup) == 1 and await count(app, GroupMembership) == 1


async def test_admins_verify_and_unverify_groups_with_a_reason_in_the_log(web, app):
    creator = await make_user(app, "amelie")
    group = await make_group(app, creator)
    await make_group(app, creator, "verified_one", "Already Verified")
    await log_in(web, app, "jordi")
    refused = await web.get("/admin/groups")
    assert refused.status == 403
    refused = await web.post(f"/admin/groups/{group.id}/verify", {"reason": "ok"}, csrf_from_path="/groups")
    assert refused.status == 403 and (await group_row(app, group.id)).verified_at is None

    admin = await log_in(web, app, "alice_admin", role="admin")
    page = await web.get("/admin/groups")
    assert page.status == 200 and "Market Square Neighbours" in page.text and "Already Verified" in page.text
    no_reason = await web.post(f"/admin/groups/{group.id}/verify", {"reason": " "}, csrf_from_path="/admin/groups")
    assert no_reason.status == 422 and (await group_row(app, group.id)).verified_at is None
    page = await web.post(f"/admin/groups/{group.id}/verify", {"reason": "Statutes checked."},
                          csrf_from_path="/admin/groups")
    assert page.status == 200 and "The group is verified." in page.text
    row = await group_row(app, group.id)
    assert row.verified_at is not None and row.verified_by_id == admin.id
    again = await web.post(f"/admin/groups/{group.id}/verify", {"reason": "twice"}, csrf_from_path="/admin/groups")
    assert again.status == 409
    unverified_only = await web.get("/admin/groups?filter=unverified")
    assert "Already Verified" in unverified_only.text and "Market Square Neighbours" not in unverified_only.text
    public = await web.get("/groups/neighbours")
    assert "Verified group" in public.text

    page = await web.post(f"/admin/groups/{group.id}/unverify", {"reason": "The association was dissolved."},
                          csrf_from_path="/admin/groups")
    assert "The group is no longer verified." in page.text
    assert (await group_row(app, group.id)).verified_at is None
    async with app[DB]() as db:
        log = (await db.scalars(select(AdminAction).where(AdminAction.subject_type == "user_group")
                                .order_by(AdminAction.id))).all()
    assert [(a.action, a.subject_id, a.actor_id, a.reason) for a in log] == [
        ("group.verified", group.id, admin.id, "Statutes checked."),
        ("group.unverified", group.id, admin.id, "The association was dissolved.")]
    missing = await web.post("/admin/groups/999999/verify", {"reason": "x"}, csrf_from_path="/admin/groups")
    assert missing.status == 404
