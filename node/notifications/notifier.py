"""Runs the dispatcher in `civicnode serve`, as node.activitypub.publisher runs federation.

Why a background task rather than the event's own transaction: the person who comments does not
wait for followers to be looked up, mentions resolved and mails sent; a failing SMTP server or a
bug in one kind of notification cannot roll back a comment; and the `notified_events` table makes
each event handled exactly once even with several processes (a PRIMARY KEY clash rolls back the
slower one, which finds nothing left to do on its next round).
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from aiohttp import web
from sqlalchemy import exists, false, insert, select, update

from node.appkeys import CATALOGS, DB, NODE_INFO, SETTINGS
from node.db.base import utcnow
from node.events import Event, EventProcessor
from node.notifications.dispatch import KINDS, notify_event
from node.notifications.mails import MailContext, send_digests, send_immediate
from node.notifications.models import NotifiedEvent

log = logging.getLogger("civicnode.notifications")

LOOKBACK = timedelta(days=2)  # older events (a node down for days) are not notified any more
BATCH = 100
POLL_SECONDS = 5.0  # events committed by another process are seen within this
DIGEST_CHECK_SECONDS = 3600.0


async def notify_pending(sessionmaker, *, limit: int = BATCH) -> tuple[int, int]:
    """Handle up to `limit` events not yet handled, oldest first: (events handled, notified)."""
    notified = 0
    async with sessionmaker.begin() as db:
        if db.bind.dialect.name == "sqlite":
            # Take the write lock first (waiting busy_timeout for it): a SQLite transaction that
            # reads, then writes after another connection committed fails with "database is
            # locked" at once, whatever the timeout.
            await db.execute(update(NotifiedEvent).where(false()).values(handled_at=utcnow()))
        events = list(await db.scalars(
            select(Event).where(Event.created_at > utcnow() - LOOKBACK,
                                ~exists().where(NotifiedEvent.event_id == Event.id))
            .order_by(Event.id).limit(limit)))
        for event in events:
            if event.kind not in KINDS:
                continue
            try:
                async with db.begin_nested():
                    notified += len(await notify_event(db, event))
            except Exception:  # one broken event must not hold back the others, nor loop forever
                log.exception("could not notify event %s (%s); skipped", event.id, event.kind)
        if events:
            now = utcnow()
            await db.execute(insert(NotifiedEvent), [{"event_id": e.id, "handled_at": now} for e in events])
    return len(events), notified


class Notifier(EventProcessor):
    """Runs in `civicnode serve` (node.events.EventProcessor); also sends due digests hourly."""

    def __init__(self, sessionmaker, mail_context, poll_seconds: float = POLL_SECONDS):
        super().__init__(sessionmaker, poll_seconds)
        self.mail_context = mail_context
        self._digest_checked = time.monotonic()  # not at start: a restart loop must not mail

    async def run_round(self) -> None:
        notified = 0
        while True:
            handled, told = await notify_pending(self.sessionmaker)
            notified += told
            if handled < BATCH:
                break
        if notified:
            await send_immediate(self.sessionmaker, self.mail_context())
        if time.monotonic() - self._digest_checked >= DIGEST_CHECK_SECONDS:
            self._digest_checked = time.monotonic()
            await send_digests(self.sessionmaker, self.mail_context())


NOTIFIER = web.AppKey("notifier", dict)


def setup_notifier(app: web.Application) -> None:
    app[NOTIFIER] = {"notifier": None}

    async def run(app: web.Application):
        notifier = Notifier(app[DB], lambda: MailContext(app[SETTINGS], app[CATALOGS], app[NODE_INFO]))
        notifier.start()
        app[NOTIFIER]["notifier"] = notifier
        try:
            yield
        finally:
            await notifier.stop()

    app.cleanup_ctx.append(run)
