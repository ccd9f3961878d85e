"""Password reset by emailed link: through the log (development) and a real SMTP server."""
from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import logging
import re
import socket
from datetime import timedelta

import pytest
from aiohttp import ClientSession, CookieJar
from sqlalchemy import func, select, update

from node.accounts.models import PasswordResetToken, User, WebSession
from node.accounts.passwords import verify_password
from node.appkeys import DB, SETTINGS
from node.db.base import utcnow
from node.mail import MAIL_TASKS
from tests.helpers import WebClient
from tests.test_accounts import PASSWORD, register
from tests.mail_support import smtp_on_loopback

NEW_PASSWORD = "a fresh long passphrase"
LINK_RE = re.compile(r"(https?://\S+)/password/reset/([A-Za-z0-9_-]+)")


async def after_mail(app, check, timeout: float = 10.0):
    """Mail goes out in background tasks: wait for them to finish, then look."""
    async with asyncio.timeout(timeout):
        await asyncio.gather(*app[MAIL_TASKS])
    result = check()
    assert result, "the mail did not do what was expected"
    return result


def link_in_log(caplog):
    for record in caplog.records:
        if record.name == "civicnode.mail" and (match := LINK_RE.search(record.getMessage())):
            return match
    return None


async def ask_for_link(web, address="alice@example.org"):
    return await web.post("/password/forgot", {"email": address}, csrf_from_path="/password/forgot")


@pytest.fixture
async def alice(web):
    await register(web)
    await web.post("/logout", csrf_from_path="/")


@pytest.fixture
def mail_log(caplog):
    caplog.set_level(logging.INFO, logger="civicnode.mail")
    return caplog


async def token_rows(app):
    async with app[DB]() as db:
        return (await db.scalars(select(PasswordResetToken))).all()


async def test_reset_end_to_end_through_the_log(web, app, alice, mail_log):
    page = await ask_for_link(web)
    assert page.status == 200 and "Check your email" in page.text
    match = await after_mail(app, lambda: link_in_log(mail_log))
    assert match.group(1) == app[SETTINGS].base_url
    token = match.group(2)
    assert "Reset your password on Testville" in mail_log.text and "Alice Martin" in mail_log.text
    rows = await token_rows(app)
    assert len(rows) == 1 and rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()

    form = await web.get(f"/password/reset/{token}")
    assert form.status == 200 and '<label for="f-password">' in form.text
    short = await web.post(f"/password/reset/{token}", {"password": "short", "password_confirm": "short"},
                           csrf_from_path=f"/password/reset/{token}")
    assert short.status == 422 and "Use at least 10 characters" in short.text
    done = await web.post(f"/password/reset/{token}",
                          {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                          csrf_from_path=f"/password/reset/{token}", allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/account?saved=password"
    settings_page = await web.get(done.headers["Location"])
    assert settings_page.status == 200 and "Your new password is set" in settings_page.text

    async with app[DB]() as db:
        user = await db.scalar(select(User).where(User.username == "alice"))
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert (await token_rows(app))[0].used_at is not None
    await web.post("/logout", csrf_from_path="/")
    assert (await web.login("alice", PASSWORD)).status == 422
    assert "Log out" in (await web.login("alice", NEW_PASSWORD)).text


async def test_unknown_address_gets_the_same_answer_and_no_mail(web, app, alice, mail_log):
    known = await ask_for_link(web, "alice@example.org")
    unknown = await ask_for_link(web, "nobody@example.org")
    assert known.status == unknown.status == 200
    assert known.text.replace("alice@", "nobody@") == unknown.text
    # Whatever mail the two requests started has finished: none may be for the unknown address.
    await after_mail(app, lambda: link_in_log(mail_log))
    assert "nobody@example.org" not in mail_log.text
    assert len(await token_rows(app)) == 1


async def test_malformed_address_is_422(web, app):
    page = await ask_for_link(web, "not an address")
    assert page.status == 422 and "Enter an email address like name@example.org." in page.text
    assert 'value="not an address"' in page.text


async def test_used_expired_and_unknown_tokens_get_a_clear_page(web, app, alice, mail_log):
    await ask_for_link(web)
    token = (await after_mail(app, lambda: link_in_log(mail_log))).group(2)
    assert (await web.post(f"/password/reset/{token}",
                           {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                           csrf_from_path="/password/forgot")).status == 200
    for method in ("get", "post"):
        if method == "get":
            again = await web.get(f"/password/reset/{token}")
        else:
            again = await web.post(f"/password/reset/{token}", {"password": "another long one",
                                   "password_confirm": "another long one"}, csrf_from_path="/")
        assert again.status == 410 and "This link was already used" in again.text
        assert 'href="/password/forgot"' in again.text

    await web.post("/logout", csrf_from_path="/")
    mail_log.clear()
    await ask_for_link(web)
    second = (await after_mail(app, lambda: link_in_log(mail_log))).group(2)
    async with app[DB].begin() as db:
        await db.execute(update(PasswordResetToken).where(PasswordResetToken.used_at.is_(None))
                         .values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await web.get(f"/password/reset/{second}")
    assert expired.status == 410 and "This link has expired" in expired.text
    posted = await web.post(f"/password/reset/{second}",
                            {"password": "yet another one!", "password_confirm": "yet another one!"},
                            csrf_from_path="/")
    assert posted.status == 410
    async with app[DB]() as db:
        user = await db.scalar(select(User).where(User.username == "alice"))
    assert verify_password(user.password_hash, NEW_PASSWORD)

    for bogus in ("not-a-token", "x" * 500):
        page = await web.get(f"/password/reset/{bogus}")
        assert page.status == 400 and "This link is not valid" in page.text


async def test_reset_ends_every_session_of_the_user(web, server, app, alice, mail_log):
    assert "Log out" in (await web.login("alice", PASSWORD)).text
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
        other = WebClient(session, web.base)
        await ask_for_link(other)
        token = (await after_mail(app, lambda: link_in_log(mail_log))).group(2)
        await other.post(f"/password/reset/{token}",
                         {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                         csrf_from_path=f"/password/reset/{token}")
        assert "Log out" in (await other.get("/")).text
    stale = await web.get("/account", allow_redirects=False)
    assert stale.status == 303 and stale.headers["Location"].startswith("/login")
    async with app[DB]() as db:
        user_id = await db.scalar(select(User.id).where(User.username == "alice"))
        assert await db.scalar(select(func.count()).select_from(WebSession)
                               .where(WebSession.user_id == user_id)) == 1


async def test_at_most_a_few_links_are_out_at_once(web, app, alice, mail_log):
    for _ in range(5):
        assert (await ask_for_link(web)).status == 200
    assert len(await token_rows(app)) == 3


@pytest.fixture
async def smtp_server():
    async with smtp_on_loopback() as inbox:
        yield inbox


async def test_reset_mail_goes_through_a_real_smtp_server(web, app, alice, smtp_server):
    settings = app[SETTINGS]
    settings.smtp_host, settings.smtp_port = "127.0.0.1", smtp_server.port
    settings.mail_from = "Testville <noreply@testville.example>"
    assert (await ask_for_link(web)).status == 200
    envelope = (await after_mail(app, lambda: smtp_server.envelopes))[0]
    assert envelope.rcpt_tos == ["alice@example.org"]
    assert envelope.mail_from == "noreply@testville.example"
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "Reset your password on Testville"
    assert message["To"] == "alice@example.org"
    token = LINK_RE.search(message.get_content()).group(2)
    done = await web.post(f"/password/reset/{token}",
                          {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                          csrf_from_path=f"/password/reset/{token}", allow_redirects=False)
    assert done.status == 303


async def test_unreachable_smtp_server_is_logged_not_shown(web, app, alice, caplog):
    caplog.set_level(logging.INFO, logger="civicnode.mail")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app[SETTINGS].smtp_host, app[SETTINGS].smtp_port = "127.0.0.1", closed_port
    page = await ask_for_link(web)
    assert page.status == 200 and "Check your email" in page.text
    record = await after_mail(app, lambda: [r for r in caplog.records if r.levelno == logging.ERROR])
    assert "could not send mail to alice@example.org" in record[0].getMessage()
    assert "/password/reset/" not in caplog.text
