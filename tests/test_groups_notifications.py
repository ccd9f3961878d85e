"""Group notifications, through the events and the notifier like every other kind: an invitation
(with a link to the page where it is answered), a request to join (to the group's
administrators), its answer (to the person who asked), and verification changes (to the
members); and the mail of an invitation."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB
from node.groups import service
from node.groups.models import UserGroup
from node.notifications.models import Notification
from node.notifications.notifier import NOTIFIER
from tests.groups_support import make_group
from tests.mail_support import message_of, smtp_on_loopback
from tests.spaces_support import PASSWORD, make_user

PATH = "/groups/neighbours"


async def settle(app):
    await app[NOTIFIER]["notifier"].until_idle()


async def notes(app, user) -> list[tuple[str, str, int | None]]:
    async with app[DB]() as db:
        rows = await db.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
        return [(n.kind, n.url, n.actor_id) for n in rows]


@pytest.fixture
async def people(app, server):
    names = ("amelie", "jordi", "sam", "tom")
    found = {name: await make_user(app, name) for name in names}
    found["admin"] = await make_user(app, "alice_admin", role="admin")
    return found


async def test_an_invitation_is_notified_with_a_link_to_answer_it(web, app, people):
    amelie, jordi, sam = people["amelie"], people["jordi"], people["sam"]
    group = await make_group(app, amelie)
    await web.login("amelie", PASSWORD)
    await web.post(f"{PATH}/invite", {"username": "jordi"}, csrf_from_path=PATH)
    # An invitation cancelled before the notifier came by tells nobody anything.
    async with app[DB].begin() as db:
        await service.invite(db, group, amelie, "sam")
        await service.manage_member(db, group, amelie, sam.id, "remove")
    await settle(app)
    assert await notes(app, jordi) == [("group_invite", f"{PATH}#membership-title", amelie.id)]
    assert await notes(app, sam) == [] and await notes(app, amelie) == []

    await web.login("jordi", PASSWORD)
    centre = await web.get("/notifications")
    assert "Amelie invited you to join the group “Market Square Neighbours”" in centre.text
    assert f'href="{PATH}#membership-title"' in centre.text
    page = await web.get(PATH)
    assert 'id="membership-title"' in page.text and "Accept the invitation" in page.text and "Decline" in page.text


async def test_requests_go_to_the_groups_administrators_and_answers_to_the_requester(web, app, people):
    amelie, jordi, sam, tom = (people[name] for name in ("amelie", "jordi", "sam", "tom"))
    bea = await make_user(app, "bea")
    group = await make_group(app, amelie, members=[jordi, bea])
    async with app[DB].begin() as db:
        await service.manage_member(db, group, amelie, jordi.id, "promote")
    await settle(app)
    before = {user.id: await notes(app, user) for user in (amelie, jordi, bea)}

    for name in ("sam", "tom"):
        await web.login(name, PASSWORD)
        await web.post(f"{PATH}/join", {}, csrf_from_path=PATH)
    await settle(app)
    asked = [("group_request", f"{PATH}#requests-title", sam.id), ("group_request", f"{PATH}#requests-title", tom.id)]
    assert await notes(app, amelie) == before[amelie.id] + asked
    assert await notes(app, jordi) == before[jordi.id] + asked
    assert await notes(app, bea) == before[bea.id]  # a member who is not an administrator
    assert await notes(app, sam) == []  # nobody is told of their own request

    await web.login("amelie", PASSWORD)
    centre = await web.get("/notifications")
    assert "Sam asked to join the group “Market Square Neighbours”" in centre.text
    await web.post(f"{PATH}/members/{sam.id}/approve", {}, csrf_from_path=PATH)
    await web.post(f"{PATH}/members/{tom.id}/refuse", {}, csrf_from_path=PATH)
    await settle(app)
    assert await notes(app, sam) == [("group_accepted", PATH, amelie.id)]
    assert await notes(app, tom) == [("group_refused", PATH, amelie.id)]
    await web.login("tom", PASSWORD)
    centre = await web.get("/notifications")
    assert "Your request to join the group “Market Square Neighbours” was refused" in centre.text

    # Inviting someone who asked to join lets them in: that is an acceptance too.
    await web.post(f"{PATH}/join", {}, csrf_from_path=PATH)
    await web.login("jordi", PASSWORD)
    await web.post(f"{PATH}/invite", {"username": "tom"}, csrf_from_path=PATH)
    await settle(app)
    assert (await notes(app, tom))[-1] == ("group_accepted", PATH, jordi.id)


async def test_members_are_told_when_the_group_is_verified_unverified_or_renamed(web, app, people):
    amelie, jordi, sam, admin = people["amelie"], people["jordi"], people["sam"], people["admin"]
    group = await make_group(app, amelie, members=[jordi])
    async with app[DB].begin() as db:
        await service.invite(db, group, amelie, "sam")  # invited, not a member: not told
    await settle(app)
    await web.login("alice_admin", PASSWORD)
    await web.post(f"/admin/groups/{group.id}/verify", {"reason": "Statutes checked."}, csrf_from_path="/admin/groups")
    await settle(app)
    for member in (amelie, jordi):
        assert (await notes(app, member))[-1] == ("group_verified", PATH, admin.id)
    await web.post(f"/admin/groups/{group.id}/unverify", {"reason": "Dissolved."}, csrf_from_path="/admin/groups")
    await settle(app)
    for member in (amelie, jordi):
        assert (await notes(app, member))[-1] == ("group_unverified", PATH, admin.id)
    assert [kind for kind, _, _ in await notes(app, sam)] == ["group_invite"]
    assert await notes(app, admin) == []

    async with app[DB].begin() as db:
        await service.set_verified(db, await db.get(UserGroup, group.id), admin, True, "Checked again.")
    await settle(app)
    await web.login("amelie", PASSWORD)
    await web.post(f"{PATH}/edit", {"name": "Riverside Neighbours", "about": ""}, csrf_from_path=PATH)
    await settle(app)
    assert (await notes(app, jordi))[-1] == ("group_renamed", PATH, amelie.id)
    assert (await notes(app, amelie))[-1] == ("group_verified", PATH, admin.id)  # not told of her own act
    await web.login("jordi", PASSWORD)
    centre = await web.get("/notifications")
    assert ("Amelie renamed the group “Riverside Neighbours”: a node administrator must verify it again"
            in centre.text)
    assert "The group “Market Square Neighbours” is no longer verified" in centre.text


async def test_an_invitation_is_mailed_to_who_chose_immediate_mails(web, app, people):
    amelie, jordi = people["amelie"], people["jordi"]
    await make_group(app, amelie)
    async with app[DB].begin() as db:
        (await db.get(User, jordi.id)).notification_email = "immediate"
    async with smtp_on_loopback(app) as inbox:
        await web.login("amelie", PASSWORD)
        await web.post(f"{PATH}/invite", {"username": "jordi"}, csrf_from_path=PATH)
        await settle(app)  # the notifier sends immediate mails before it is idle
        assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [["jordi@example.org"]]
        message = message_of(inbox.envelopes[0])
        assert message["Subject"].endswith("] Amelie invited you to join the group “Market Square Neighbours”")
        assert f"{PATH}#membership-title" in message.get_content()
