"""A real SMTP server on loopback (aiosmtpd) for the tests that send mail, and the node's settings
pointed at it. Nothing ever leaves 127.0.0.1."""
from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy

from aiosmtpd.smtp import SMTP

from node.appkeys import SETTINGS


class Inbox:
    """aiosmtpd handler keeping what it receives; `port` is where it listens."""

    def __init__(self):
        self.envelopes = []
        self.arrived = asyncio.Event()
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.arrived.set()
        return "250 Message accepted for delivery"


@contextlib.asynccontextmanager
async def smtp_on_loopback(app=None):
    """Yields the Inbox of a server on an OS-chosen port; with `app`, its mail goes there."""
    inbox = Inbox()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(inbox, hostname="mail.test"), "127.0.0.1", 0)
    inbox.port = server.sockets[0].getsockname()[1]
    if app is not None:
        settings = app[SETTINGS]
        settings.smtp_host, settings.smtp_port = "127.0.0.1", inbox.port
        settings.mail_from = "Testville <noreply@testville.example>"
    try:
        yield inbox
    finally:
        server.close()
        await server.wait_closed()


def message_of(envelope):
    return email.message_from_bytes(envelope.content, policy=email.policy.default)
