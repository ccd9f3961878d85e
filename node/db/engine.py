"""Engine set-up: SQLite gets WAL and enforced foreign keys, and its writers take turns
(node.db.writes); PostgreSQL is used as is."""
from __future__ import annotations

from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from node.db.writes import TURN_INFO, WritingSession, takes_turns, write_turn


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits.  Writers of this process wait for their
    # turn in the event loop (node.db.writes); busy_timeout is for those of other processes.
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


class NodeSessionmaker(async_sessionmaker):
    """``sessionmaker()`` opens a session to read, ``sessionmaker.begin()`` a transaction to
    write: on SQLite the latter waits for this process's turn to write and holds SQLite's write
    lock from its first statement (node.db.writes)."""

    def begin(self):
        engine = self.kw["bind"]
        if not takes_turns(engine):
            return super().begin()
        return self._writing(engine)

    @asynccontextmanager
    async def _writing(self, engine: AsyncEngine):
        turn = write_turn(engine)
        async with turn.held():
            async with self(sync_session_class=WritingSession,
                            info={TURN_INFO: turn})._maker_context_manager() as session:
                yield session


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return NodeSessionmaker(engine, expire_on_commit=False, info={EVENT_LISTENERS: set()})
