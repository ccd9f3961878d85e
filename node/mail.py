"""Outgoing mail: SMTP when `smtp_host` is set, otherwise the message goes to the log.

Logging instead of sending is the development behaviour: a fresh node needs no mail server, and
the reset link can be read from the console (logger "civicnode.mail"). Production nodes set
smtp_host (port 465 means implicit TLS; smtp_starttls upgrades a plain connection).
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from aiohttp import web

from node.config import Settings

log = logging.getLogger("civicnode.mail")

SMTP_TIMEOUT = 30
# Sends started by requests, awaited at shutdown so that no message is cut off half-way.
MAIL_TASKS = web.AppKey("mail_tasks", set)


def sender(settings: Settings) -> str:
    if settings.mail_from:
        return settings.mail_from
    host = urlsplit(settings.base_url).hostname or "localhost"
    return f"civicnode <no-reply@{host}>"


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender(settings)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    import smtplib  # here, not at start-up: about a megabyte an idle node does not need

    context = ssl.create_default_context()
    if settings.smtp_port == 465:
        client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT,
                                  context=context)
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
    with client:
        if settings.smtp_starttls and settings.smtp_port != 465:
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        client.send_message(message)


async def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message. Raises on SMTP failure (callers decide what to tell whom)."""
    message = build_message(settings, to, subject, body)
    if not settings.smtp_host:
        log.info("mail not sent (no smtp_host configured) to %s\nSubject: %s\n\n%s", to, subject, body)
        return
    # smtplib blocks; a thread keeps the event loop serving other requests meanwhile.
    await asyncio.to_thread(_send_smtp, settings, message)
    log.info("mail sent to %s: %s", to, subject)


def setup_mail(app: web.Application) -> None:
    app[MAIL_TASKS] = set()

    async def wait_for_mail(app: web.Application) -> None:
        pending = list(app[MAIL_TASKS])
        if pending:
            await asyncio.wait(pending, timeout=SMTP_TIMEOUT + 5)

    app.on_cleanup.append(wait_for_mail)


def send_in_background(app: web.Application, settings: Settings, to: str, subject: str,
                       body: str) -> asyncio.Task:
    """Send without making the visitor wait (and without revealing, by the response time,
    whether a message was sent at all). Failures are logged."""

    async def run() -> None:
        try:
            await send_mail(settings, to, subject, body)
        except Exception:
            log.exception("could not send mail to %s (%s)", to, subject)

    task = asyncio.create_task(run())
    # The event loop only keeps weak references to tasks: hold this one until it is done.
    tasks = app[MAIL_TASKS]
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task

