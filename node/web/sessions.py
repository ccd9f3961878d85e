"""Server-side sessions for aiohttp-session, kept in the `web_sessions` table.

The cookie carries a random key; the table stores only its SHA-256, so a copy of the database
cannot be used to hijack sessions. Only logged-in visitors get a session: anonymous browsing
writes nothing (see node.web.csrf for how anonymous forms are protected).
"""
from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from datetime import timedelta

from aiohttp import web
from aiohttp_session import AbstractStorage, Session
from sqlalchemy import bindparam, delete, func, select

from node.accounts.models import User, WebSession
from node.db.base import utcnow

COOKIE_NAME = "civicnode_session"
# The session's user, read in the same query as the session (node.web.context uses it).
SESSION_USER = web.RequestKey("session_user", object)
# The user's unread notifications, counted in that same query (the header shows it).
UNREAD_NOTIFICATIONS = web.RequestKey("unread_notifications", int)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@lru_cache(maxsize=1)
def _session_query():
    """The session, its user and their unread notifications in one statement, built once (its
    key is a bound parameter): building it costs about as much as running it."""
    from node.notifications.models import Notification

    unread = (select(func.count()).select_from(Notification)
              .where(Notification.user_id == WebSession.user_id, Notification.read_at.is_(None))
              .scalar_subquery())
    return (select(WebSession, User, unread).outerjoin(User, User.id == WebSession.user_id)
            .where(WebSession.key == bindparam("digest")))


class DatabaseStorage(AbstractStorage):
    def __init__(self, sessionmaker, *, max_age: int, secure: bool) -> None:
        super().__init__(cookie_name=COOKIE_NAME, max_age=max_age, secure=secure,
                         httponly=True, samesite="Lax")
        self._db = sessionmaker

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        if not key or len(key) > 128:
            return Session(None, data=None, new=True, max_age=self.max_age)
        async with self._db() as db:
            found = (await db.execute(_session_query(), {"digest": key_digest(key)})).first()
        if found is None or found[0].expires_at <= utcnow():
            return Session(None, data=None, new=True, max_age=self.max_age)
        row, request[SESSION_USER], request[UNREAD_NOTIFICATIONS] = found
        return Session(key, data=row.data, new=False, max_age=self.max_age)

    async def save_session(self, request: web.Request, response: web.StreamResponse,
                           session: Session) -> None:
        old_key = session.identity
        async with self._db.begin() as db:
            if old_key:
                await db.execute(delete(WebSession).where(WebSession.key == key_digest(old_key)))
            if session.empty:
                self.save_cookie(response, "", max_age=session.max_age)
                return
            # A new key on every save that changes the session (login, logout, role change)
            # prevents session fixation.
            key = secrets.token_urlsafe(32)
            data = self._get_session_data(session)
            db.add(WebSession(
                key=key_digest(key), data=data, user_id=session.get("user_id"),
                expires_at=utcnow() + timedelta(seconds=self.max_age),
            ))
        self.save_cookie(response, key, max_age=session.max_age)


async def end_user_sessions(db, user_id: int) -> None:
    """Log a user out everywhere (password reset, block)."""
    await db.execute(delete(WebSession).where(WebSession.user_id == user_id))
