"""The email-domain handler end to end: a real SMTP server on loopback receives the link, GET only
shows a button, POST confirms."""
from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from node.appkeys import DB, SETTINGS
from node.db.base import utcnow
from node.nodemodels import NodeSetting
from node.verification.domains import SETTING
from node.verification.models import Authorisation
from node.verification.service import active_authorisations
from tests.spaces_support import PASSWORD, log_in
from tests.mail_support import smtp_on_loopback

LINK = re.compile(r"http://127\.0\.0\.1:\d+(/account/verifications/email_domain/confirm/[A-Za-z0-9_-]+)")


@pytest.fixture
async def smtp_server(app, server):
    async with app[DB].begin() as db:
        db.add(NodeSetting(key=SETTING, value=["collective.example"]))
    async with smtp_on_loopback(app) as inbox:
        yield inbox


def link_in(envelope) -> str:
    body = email.message_from_bytes(envelope.content, policy=email.policy.default).get_content()
    return LINK.search(body).group(1)


async def request_link(web, address):
    return await web.post("/account/verifications/email_domain", {"address": address},
                          csrf_from_path="/account/verifications/email_domain")


async def test_email_domain_flow(web, app, smtp_server):
    bob = await log_in(web, app, "bob")
    assert (await web.get("/account/verifications")).has('href="/account/verifications/email_domain"')
    wrong = await request_link(web, "bob@elsewhere.example")
    assert wrong.status == 422 and wrong.has("Accepted domains: collective.example")
    assert (await request_link(web, "not an address")).status == 422
    sent = await request_link(web, "Bob@Collective.example")
    assert sent.status == 200 and sent.has("We sent a link"), sent.text[:2000]
    [envelope] = smtp_server.envelopes  # awaited before the page answered: no waiting needed
    assert envelope.rcpt_tos == ["Bob@Collective.example"]
    path = link_in(envelope)
    async with app[DB]() as db:
        assert await active_authorisations(db, bob.id) == {}
        pending = await db.scalar(select(Authorisation))
        assert path.rsplit("/", 1)[1] not in repr(vars(pending))  # only the token's digest is stored
    shown = await web.get(path)  # a GET (a mail scanner) confirms nothing
    assert shown.status == 200 and shown.has('<button type="submit">Confirm</button>')
    async with app[DB]() as db:
        assert await active_authorisations(db, bob.id) == {}
    assert (await web.post(path, {}, csrf=False)).status == 403  # CSRF
    done = await web.post(path, {}, csrf_from_path=path)
    assert done.status == 200 and done.has("Your address is confirmed"), done.text[:2000]
    async with app[DB]() as db:
        held = await active_authorisations(db, bob.id)
    assert held["email_domain"].details == {"domain": "collective.example"}
    assert len(held["email_domain"].unique_digest) == 64
    assert (await web.post(path, {}, csrf_from_path="/")).status == 409  # used once

    # the same mailbox for another account: refused before any mail is sent
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "carol")
    taken = await request_link(web, "bob@collective.example")
    assert taken.status == 409 and taken.has("already verified another account")
    assert len(smtp_server.envelopes) == 1
    # bob's link is not carol's
    assert (await web.get(path)).status in (403, 409)


async def test_expired_link_and_other_account(web, app, smtp_server):
    await log_in(web, app, "bob")
    assert (await request_link(web, "bob@collective.example")).status == 200
    path = link_in(smtp_server.envelopes[0])
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "carol")
    assert (await web.get(path)).status == 403
    await web.post("/logout", {}, csrf_from_path="/")
    await web.login("bob", PASSWORD)
    async with app[DB].begin() as db:
        await db.execute(update(Authorisation).values(created_at=utcnow() - timedelta(hours=25)))
    expired = await web.post(path, {}, csrf_from_path="/")
    assert expired.status == 422 and expired.has("has expired")
    mine = await web.get("/account/verifications")
    assert mine.has("Expired") and mine.has("Verify again")


async def test_limits_and_no_smtp(web, app, smtp_server):
    app[SETTINGS].verification_max_attempts = 2
    await log_in(web, app, "bob")
    for _ in range(2):
        assert (await request_link(web, "bob@collective.example")).status == 200
    assert (await request_link(web, "bob@collective.example")).status == 429
    assert len(smtp_server.envelopes) == 2
    app[SETTINGS].smtp_host = ""
    page = await request_link(web, "bob@collective.example")
    assert page.status == 503 and page.has("cannot send mail")
