"""The admin page of outgoing federation: hosts' health and each activity's deliveries."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from node.activitypub.delivery_models import Delivery, HostState
from node.activitypub.outbox import enqueue
from node.appkeys import DB
from node.db.base import utcnow
from tests.spaces_support import admin_web, log_in  # noqa: F401
from tests.delivery_support import note_activity


@pytest.fixture
def settings(settings):
    settings.delivery_in_process = False  # the queue stays as the test leaves it
    return settings


async def fill_queue(app):
    async with app[DB].begin() as db:
        await enqueue(db, actor_type="user", actor_id=1, activity=note_activity(1),
                      inboxes=["https://town.example/inbox", "https://down.example/inbox"])
    async with app[DB].begin() as db:
        down = await db.scalar(select(HostState).where(HostState.host == "down.example"))
        down.consecutive_failures, down.first_failure_at = 12, utcnow() - timedelta(days=8)
        down.unavailable_since = down.circuit_open_until = utcnow() + timedelta(hours=1)
        town = await db.scalar(select(Delivery).where(Delivery.host == "town.example"))
        town.status, town.attempts, town.last_status = "delivered", 1, 202
        town.delivered_at = utcnow()
        gone = await db.scalar(select(Delivery).where(Delivery.host == "down.example"))
        gone.status, gone.last_error = "skipped", "host unavailable: not sent"


async def test_only_administrators_see_it(web, app):
    page = await web.get("/admin/federation", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")
    await log_in(web, app, "bob", role="moderator")
    assert (await web.get("/admin/federation")).status == 403


async def test_hosts_activities_and_deliveries(admin_web, app):
    assert "/admin/federation" in (await admin_web.get("/admin")).text
    await fill_queue(app)
    page = await admin_web.get("/admin/federation")
    assert page.status == 200
    text = " ".join(page.text.split())
    assert "<code>down.example</code>" in text and "Unavailable: deliveries skipped" in text
    assert "<code>town.example</code>" in text
    assert "1 delivered" in text and "1 skipped" in text
    detail = await admin_web.get("/admin/federation/activities/1")
    assert detail.status == 200
    assert "https://down.example/inbox" in detail.text and "host unavailable: not sent" in detail.text
    assert "HTTP 202" in detail.text
    assert (await admin_web.get("/admin/federation/activities/999")).status == 404


async def test_send_again_now_clears_an_unavailable_host(admin_web, app):
    await fill_queue(app)
    async with app[DB]() as db:
        host_id = await db.scalar(select(HostState.id).where(HostState.host == "down.example"))
    page = await admin_web.post(f"/admin/federation/hosts/{host_id}/retry", {}, csrf_from_path="/admin/federation")
    assert page.status == 200 and "Your changes were saved." in page.text
    async with app[DB]() as db:
        host = await db.get(HostState, host_id)
    assert (host.unavailable_since, host.consecutive_failures, host.circuit_open_until) == (None, 0, None)
