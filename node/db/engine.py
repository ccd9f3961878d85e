"""Engine set-up: SQLite gets WAL and enforced foreign keys; PostgreSQL is used as is."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits; busy_timeout makes concurrent writers
    # wait for the lock instead of failing at once with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        # The same driver, each statement one trip to its thread (node.db.sqlite_driver).
        from node.db.sqlite_driver import DRIVERNAME

        parsed = parsed.set(drivername=DRIVERNAME)
    engine = create_async_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


# Session-info key of the callables told when a commit recorded participation events
# (node.events.on_events_committed); one set per sessionmaker, shared by its sessions.
EVENT_LISTENERS = "civicnode_event_listeners"


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False, info={EVENT_LISTENERS: set()})
