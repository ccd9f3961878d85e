"""Follows and notifications: who is told what, the notification centre, and the mails (through a
real SMTP server on loopback)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB, SETTINGS
from node.components.comments.registry import load_target
from node.components.comments.service import create_comment
from node.components.proposals.amendments import propose_amendment
from node.components.proposals.models import Proposal
from node.components.proposals.service import answer_proposal
from node.notifications.command import run_digest
from node.notifications.follows import follow
from node.notifications.models import Follow, Notification
from node.notifications.notifier import NOTIFIER
from node.spaces.models import Component
from node.spaces.service import activate_phase
from tests.proposals_fixtures import make_proposal, proposal_path, space_with_component
from tests.spaces_support import PASSWORD, count, make_user
from tests.mail_support import message_of, smtp_on_loopback


async def settle(app):
    await app[NOTIFIER]["notifier"].until_idle()


async def notes(app, user) -> list[tuple[str, str]]:
    async with app[DB]() as db:
        rows = await db.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id))
        return [(n.kind, n.url) for n in rows]


async def comment(app, author, proposal, body: str):
    async with app[DB].begin() as db:
        target = await load_target(db, "proposal", proposal.id)
        return await create_comment(db, target, commentable_type="proposal", commentable_id=proposal.id,
                                    author=await db.get(User, author.id), body=body)


async def follows(app, user_id, subject_type, subject_id) -> bool:
    return await count(app, Follow, Follow.user_id == user_id, Follow.subject_type == subject_type,
                       Follow.subject_id == subject_id) == 1


@pytest.fixture
async def world(app, server):
    space, component, phases = await space_with_component(app, phases=2, amendments_enabled=True)
    alice, bob, carol = [await make_user(app, name) for name in ("alice", "bob", "carol")]
    proposal = await make_proposal(app, space, component, alice)
    await settle(app)
    return {"space": space, "component": component, "phases": phases, "alice": alice, "bob": bob,
            "carol": carol, "proposal": proposal}


async def test_authors_follow_their_proposal_and_commenters_what_they_commented(app, world):
    alice, bob, carol, proposal = world["alice"], world["bob"], world["carol"], world["proposal"]
    assert await follows(app, alice.id, "proposal", proposal.id)
    created = await comment(app, bob, proposal, "I agree, and @carol knows the square well.")
    await settle(app)
    url = f"{proposal_path(world['space'], proposal.id)}#comment-{created.id}"
    assert await notes(app, alice) == [("comment", url)]
    assert await notes(app, carol) == [("mention", url)]  # a mention, not also a comment
    assert await notes(app, bob) == []  # never told about one's own comment
    assert await follows(app, bob.id, "proposal", proposal.id)
    await comment(app, alice, proposal, "Thanks @alice @nobody_here!")  # self-mention, unknown name
    await settle(app)
    assert [kind for kind, _ in await notes(app, bob)] == ["comment"]
    assert len(await notes(app, alice)) == 1


async def test_answer_amendment_phase_and_new_item(app, world):
    alice, bob, carol, proposal, space = (world[k] for k in ("alice", "bob", "carol", "proposal", "space"))
    admin = await make_user(app, "ada", role="admin")
    async with app[DB].begin() as db:
        await follow(db, carol.id, "proposal", proposal.id)
        await follow(db, carol.id, "space", space.id)
        await follow(db, bob.id, "user", alice.id)
    async with app[DB].begin() as db:
        row = await db.get(Proposal, proposal.id)
        await answer_proposal(db, row, user=await db.get(User, admin.id), state="accepted", answer="Yes.")
    await settle(app)
    assert [kind for kind, _ in await notes(app, alice)] == ["answer"]
    assert [kind for kind, _ in await notes(app, carol)] == ["answer"]
    assert await notes(app, admin) == []

    other = await make_proposal(app, space, world["component"], alice, title="Paint the town hall blue")
    await settle(app)
    assert await notes(app, bob) == [("new_item", proposal_path(space, other.id))]
    async with app[DB].begin() as db:
        row = await db.get(Proposal, other.id)
        await propose_amendment(db, row, component=await db.get(Component, world["component"].id),
                                user=await db.get(User, bob.id),
                                values={"title": row.title, "body": row.body + " With a green roof."})
    await settle(app)
    assert (await notes(app, alice))[-1] == ("amendment", proposal_path(space, other.id))
    assert [kind for kind, _ in await notes(app, bob)] == ["new_item"]  # not told of their own amendment

    async with app[DB].begin() as db:
        await activate_phase(db, space.id, world["phases"][1].id)
    await settle(app)
    assert (await notes(app, carol))[-1] == ("phase", f"/spaces/{space.slug}")
    assert "phase" not in [kind for kind, _ in await notes(app, alice)]  # alice does not follow the space


async def test_follow_buttons(web, app, world):
    proposal, space, alice = world["proposal"], world["space"], world["alice"]
    page = await web.get(proposal_path(space, proposal.id))
    assert 'name="subject_type"' not in page.text  # anonymous: no button
    bob = await web.login("bob", PASSWORD)
    assert bob.status == 200
    path = proposal_path(space, proposal.id)
    page = await web.get(path)
    assert page.has(">Follow</button>")
    done = await web.post("/follow", {"subject_type": "proposal", "subject_id": str(proposal.id),
                                      "action": "follow", "next": path}, csrf_from_path=path)
    assert done.status == 200 and done.url.endswith(path) and done.has("Stop following")
    assert await follows(app, world["bob"].id, "proposal", proposal.id)
    # twice is fine: still one row
    await web.post("/follow", {"subject_type": "proposal", "subject_id": str(proposal.id), "action": "follow"})
    assert await follows(app, world["bob"].id, "proposal", proposal.id)
    for subject_type, subject_id in (("space", space.id), ("user", alice.id)):
        await web.post("/follow", {"subject_type": subject_type, "subject_id": str(subject_id), "action": "follow"})
        assert await follows(app, world["bob"].id, subject_type, subject_id)
    assert (await web.get(f"/spaces/{space.slug}")).has("Stop following")
    assert (await web.get("/users/alice")).has("Stop following")
    assert not (await web.get("/users/bob")).has('name="subject_type"')  # one's own profile
    await web.post("/follow", {"subject_type": "proposal", "subject_id": str(proposal.id), "action": "unfollow"})
    assert not await follows(app, world["bob"].id, "proposal", proposal.id)
    # bad input: clear errors, nothing written
    bad = [({"subject_type": "planet", "subject_id": "1", "action": "follow"}, 400),
           ({"subject_type": "proposal", "subject_id": "x", "action": "follow"}, 400),
           ({"subject_type": "proposal", "subject_id": "999999", "action": "follow"}, 404),
           ({"subject_type": "user", "subject_id": str(world["bob"].id), "action": "follow"}, 422)]
    before = await count(app, Follow)
    for data, status in bad:
        assert (await web.post("/follow", data)).status == status
    assert await count(app, Follow) == before
    assert (await web.post("/follow", {"subject_type": "space", "subject_id": str(space.id),
                                       "action": "follow"}, csrf=False)).status == 403


async def test_notification_centre_unread_count_and_mark_read(web, app, world):
    alice, bob, proposal = world["alice"], world["bob"], world["proposal"]
    await comment(app, bob, proposal, "First comment")
    await comment(app, bob, proposal, "Second comment")
    await settle(app)
    assert (await web.get("/notifications", allow_redirects=False)).status in (302, 303)
    await web.login("alice", PASSWORD)
    page = await web.get("/")
    assert page.has("Notifications (2 unread)")
    page = await web.get("/notifications")
    assert page.text.count("Mark as read") == 2
    async with app[DB]() as db:
        ids = list(await db.scalars(select(Notification.id).where(Notification.user_id == alice.id)
                                    .order_by(Notification.id)))
    assert page.text.index(f"/notifications/{ids[1]}/read") < page.text.index(f"/notifications/{ids[0]}/read")
    done = await web.post(f"/notifications/{ids[0]}/read", csrf_from_path="/notifications")
    assert done.status == 200 and done.has("Notifications (1 unread)")
    # someone else's notification, or none at all
    await comment(app, alice, proposal, "Answering bob")
    await settle(app)
    async with app[DB]() as db:
        bobs = await db.scalar(select(Notification.id).where(Notification.user_id == bob.id))
    assert (await web.post(f"/notifications/{bobs}/read")).status == 404
    assert (await web.post("/notifications/99999999/read")).status == 404
    assert (await web.get("/notifications?page=zero")).status == 400
    await web.post("/notifications/read")
    page = await web.get("/notifications")
    assert "Mark as read" not in page.text and page.has("You have no unread notifications.")
    assert not (await web.get("/")).has("unread)")


async def test_anonymous_pages_do_not_count(web, app, world):
    page = await web.get("/")
    assert "Notifications" not in page.text


@pytest.fixture
async def smtp_server(app):
    async with smtp_on_loopback(app) as inbox:
        yield inbox


async def test_email_setting_and_immediate_mail(web, app, world, smtp_server):
    alice, bob, proposal = world["alice"], world["bob"], world["proposal"]
    await web.login("alice", PASSWORD)
    page = await web.get("/account")
    assert page.has('value="daily"') and page.has("checked")
    assert (await web.post("/account/notifications", {"notification_email": "hourly"},
                           csrf_from_path="/account")).status == 422
    done = await web.post("/account/notifications", {"notification_email": "immediate"}, csrf_from_path="/account")
    assert done.status == 200
    async with app[DB]() as db:
        assert (await db.get(User, alice.id)).notification_email == "immediate"
    created = await comment(app, bob, proposal, "A comment worth a mail")
    await settle(app)  # the notifier sends immediate mails before it is idle
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["alice@example.org"]
    message = message_of(envelope)
    assert message["Subject"].endswith("] Bob commented on “Plant trees on the market square”")
    assert f"{proposal_path(world['space'], proposal.id)}#comment-{created.id}" in message.get_content()
    # mailed once: the next round sends nothing more
    await comment(app, alice, proposal, "My own comment mails nobody but bob (daily)")
    await settle(app)
    assert len(smtp_server.envelopes) == 1


async def test_daily_digest_through_the_cli_function(app, world, smtp_server, capsys):
    bob, carol, proposal = world["bob"], world["carol"], world["proposal"]
    async with app[DB].begin() as db:
        (await db.get(User, carol.id)).notification_email = "none"
    await comment(app, bob, proposal, "One, and hello @carol")
    await comment(app, bob, proposal, "Two")
    await settle(app)
    assert smtp_server.envelopes == []  # daily is the default: nothing sent at once
    assert await run_digest(app[SETTINGS]) == 0
    assert "1 digest(s) sent" in capsys.readouterr().out
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["alice@example.org"]]  # carol chose none
    message = message_of(smtp_server.envelopes[0])
    assert "2 new notifications on" in message["Subject"]
    assert message.get_content().count("Bob commented on") == 2
    assert await run_digest(app[SETTINGS]) == 0  # already sent: nothing twice
    assert len(smtp_server.envelopes) == 1
    # A new notification the same day waits for tomorrow's digest, whoever sends it (cron or serve).
    await comment(app, bob, proposal, "Three")
    await settle(app)
    assert await run_digest(app[SETTINGS]) == 0
    assert len(smtp_server.envelopes) == 1
    async with app[DB].begin() as db:
        alice = await db.get(User, world["alice"].id)
        alice.digest_sent_at -= timedelta(hours=21)
    assert await run_digest(app[SETTINGS]) == 0
    assert len(smtp_server.envelopes) == 2
    assert message_of(smtp_server.envelopes[1]).get_content().count("Bob commented on") == 1
