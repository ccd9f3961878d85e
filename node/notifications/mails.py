"""Notification mails: one per notification ("immediate") or a daily digest ("daily").

A notification is claimed (emailed_at set, with RETURNING) before its mail is sent, so that two
processes never send it twice; a mail that fails is logged and not retried (the notification
stays in the notification centre), rather than retried every few seconds for days.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import aliased

from node.accounts.models import User
from node.config import Settings
from node.db.base import utcnow
from node.mail import send_mail
from node.notifications.models import Notification
from node.notifications.texts import describe

log = logging.getLogger("civicnode.notifications")

IMMEDIATE_LOOKBACK = timedelta(days=2)  # older unsent ones (a node that was down) wait for no mail
DIGEST_EVERY = timedelta(days=1)
# At most one digest a person in this time, whoever sends it (`serve` hourly, or cron with
# `civicnode digest`); under a day, so that a cron at a fixed hour never skips a day by drifting.
DIGEST_GAP = timedelta(hours=20)
BATCH = 100


@dataclass
class MailContext:
    settings: Settings
    catalogs: dict  # language -> translations (node.i18n.load_catalogs)
    node_info: dict  # node_name, default_locale

    @property
    def default(self) -> str:
        return self.node_info.get("default_locale") or self.settings.default_locale

    def gettext(self, user: User):
        catalog = self.catalogs.get(user.locale or self.default) or self.catalogs.get(self.default)
        if catalog is None:
            return (lambda s: s), (lambda s, p, n: s if n == 1 else p)
        return catalog.gettext, catalog.ngettext

    def footer(self, gettext) -> str:
        return gettext("You receive this mail because of your notification settings. "
                       "Change them at %(url)s") % {"url": f"{self.settings.base_url}/account"}


Actor = aliased(User)


async def _claim(sessionmaker, ids: list[int]) -> set[int]:
    async with sessionmaker.begin() as db:
        result = await db.execute(update(Notification).where(Notification.id.in_(ids),
                                                              Notification.emailed_at.is_(None))
                                  .values(emailed_at=utcnow()).returning(Notification.id))
        return set(result.scalars())


async def _rows(db, *where):
    return (await db.execute(select(Notification, User, func.coalesce(Actor.nickname, Notification.actor_name))
                             .join(User, User.id == Notification.user_id)
                             .outerjoin(Actor, Actor.id == Notification.actor_id)
                             .where(Notification.emailed_at.is_(None), Notification.read_at.is_(None), *where)
                             .order_by(Notification.id).limit(BATCH))).all()


def _line(ctx: MailContext, gettext, user: User, note: Notification, actor: str | None) -> str:
    return describe(gettext, note.kind, actor, note.title, user.locale or ctx.default, ctx.default)


async def _send(ctx: MailContext, to: str, subject: str, body: str) -> bool:
    try:
        await send_mail(ctx.settings, to, subject, body)
        return True
    except Exception:
        log.exception("could not send a notification mail to %s", to)
        return False


async def send_immediate(sessionmaker, ctx: MailContext) -> int:
    """Mail the unsent notifications of users who chose "immediate"; returns mails sent."""
    async with sessionmaker() as db:
        rows = await _rows(db, User.notification_email == "immediate",
                           Notification.created_at > utcnow() - IMMEDIATE_LOOKBACK)
    if not rows:
        return 0
    claimed = await _claim(sessionmaker, [note.id for note, _, _ in rows])
    sent = 0
    for note, user, actor in rows:
        if note.id not in claimed:
            continue
        gettext, _ = ctx.gettext(user)
        line = _line(ctx, gettext, user, note, actor)
        body = f"{line}\n\n{ctx.settings.base_url}{note.url}\n\n-- \n{ctx.footer(gettext)}\n"
        sent += await _send(ctx, user.email, f"[{ctx.node_info.get('node_name', '')}] {line}", body)
    return sent


async def send_digests(sessionmaker, ctx: MailContext, *, force: bool = False) -> int:
    """One mail per user who chose "daily" and has unread, unsent notifications, the oldest a day
    old (so at most one digest a day each); `force` sends them whatever their age (the CLI,
    run by cron at the hour the node prefers).  Returns the number of digests sent."""
    now = utcnow()
    async with sessionmaker() as db:
        due = (select(Notification.user_id).join(User, User.id == Notification.user_id)
               .where(User.notification_email == "daily", Notification.emailed_at.is_(None),
                      Notification.read_at.is_(None),
                      or_(User.digest_sent_at.is_(None), User.digest_sent_at <= now - DIGEST_GAP))
               .group_by(Notification.user_id))
        if not force:
            due = due.having(func.min(Notification.created_at) <= now - DIGEST_EVERY)
        user_ids = list(await db.scalars(due.order_by(Notification.user_id)))
    sent = 0
    for user_id in user_ids:
        async with sessionmaker() as db:
            rows = await _rows(db, Notification.user_id == user_id)
        claimed = await _claim(sessionmaker, [note.id for note, _, _ in rows])
        rows = [row for row in rows if row[0].id in claimed]
        if not rows:
            continue
        async with sessionmaker.begin() as db:
            await db.execute(update(User).where(User.id == user_id).values(digest_sent_at=now))
        user = rows[0][1]
        gettext, ngettext = ctx.gettext(user)
        node_name = ctx.node_info.get("node_name", "")
        subject = ngettext("%(num)d new notification on %(node)s", "%(num)d new notifications on %(node)s",
                           len(rows)) % {"num": len(rows), "node": node_name}
        lines = [f"- {_line(ctx, gettext, user, note, actor)}\n  {ctx.settings.base_url}{note.url}"
                 for note, _, actor in rows]
        everything = f"{gettext('All your notifications:')} {ctx.settings.base_url}/notifications"
        body = "\n".join(lines) + f"\n\n{everything}\n\n-- \n{ctx.footer(gettext)}\n"
        sent += await _send(ctx, user.email, subject, body)
    return sent
