"""Writers take turns on SQLite (docs/ARCHITECTURE.md, "Storage").

SQLite has one writer at a time.  Left to itself, a burst of writers fails with "database is
locked": those that wait do so in SQLite's busy handler, which sleeps with back-off (up to 100 ms
a retry) and so serves them late and in no order, until some pass busy_timeout; and a transaction
that read first and then writes gets SQLITE_BUSY at once, without waiting, when another writer
committed in between (sqlite3's legacy mode only opens a transaction at the first INSERT, UPDATE
or DELETE, so such a transaction may even write what it read before another writer's commit).

So on SQLite every writing transaction of the node -- a session from ``sessionmaker.begin()``
(node.db.engine.NodeSessionmaker), a connection from ``begin_writing(engine)`` -- first waits for
its turn on a lock of this process, first come first served, in the event loop where waiting
costs nothing, and then opens its transaction with BEGIN IMMEDIATE: it holds SQLite's write lock
from its first statement, so what it read stays true until it commits.  Other processes on the
same file (a second ``serve``, ``civicnode worker``, a command) are still met by busy_timeout.
Readers (``sessionmaker()`` sessions, ``engine.connect()``) take no turn: in WAL mode they never
wait for a writer.  PostgreSQL is left as it is.

The turn is re-entrant for the task that holds it: a task that opens a writing session inside
another one does not wait for itself.  The inner transaction still needs SQLite's write lock, so
it can only run while the outer one has not begun (run a statement); once it has, the inner one
would wait for its own task's lock until busy_timeout, so it fails at once with NestedWrite
instead: do the inner work in the outer session.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session

log = logging.getLogger("civicnode.db")

# Past this, waiting for a turn fails rather than hangs (a holder stuck on the network, or
# waiting for a task that waits for the turn).  A burst of hundreds of writers takes seconds.
TURN_TIMEOUT_SECONDS = 30.0

BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"
# Keys of a writing session's info: its turn, and its transaction that began on the database.
TURN_INFO, BEGUN_INFO = "civicnode.write_turn", "civicnode.begun"


class WriteTurnTimeout(TimeoutError):
    pass


class NestedWrite(RuntimeError):
    """A writing transaction opened inside one of the same task that holds SQLite's write lock."""


class WriteTurn:
    """This process's writers of one database, in one event loop, one at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = asyncio.Lock()  # FIFO: a released lock goes to the oldest waiter
        self._holder: asyncio.Task | None = None
        # Transactions of the holder open on the database (they hold SQLite's write lock).
        self.open_transactions = 0

    @property
    def holder(self) -> asyncio.Task | None:
        return self._holder

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._holder is task:
            if self.open_transactions:
                raise NestedWrite(f"{task.get_name()} opened a writing transaction on {self.name} inside one it "
                                  "holds: it would wait for its own write lock; write in the outer session")
            log.debug("write turn of %s re-entered by %s", self.name, task.get_name())
            yield
            return
        try:
            async with asyncio.timeout(TURN_TIMEOUT_SECONDS):
                await self._lock.acquire()
        except TimeoutError:
            holder = self._holder.get_name() if self._holder else "nobody"
            raise WriteTurnTimeout(f"no turn to write to {self.name} within {TURN_TIMEOUT_SECONDS:.0f} s "
                                   f"(held by {holder})") from None
        self._holder, self.open_transactions = task, 0
        try:
            yield
        finally:
            self._holder = None
            self._lock.release()


# One turn per database and event loop (tests and commands run several loops in one process).
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WriteTurn]] = weakref.WeakKeyDictionary()


def takes_turns(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def holds_turn(engine: AsyncEngine) -> bool:
    """Whether the running task is inside a writing transaction of ``engine``'s SQLite database,
    where a second writing transaction would wait for SQLite's lock held by the first: a write
    that may be left out (a cache) is skipped then."""
    if not takes_turns(engine):
        return False
    turn = _turns.get(asyncio.get_running_loop(), {}).get(engine.url.render_as_string(hide_password=False))
    return turn is not None and turn.holder is asyncio.current_task()


def write_turn(engine: AsyncEngine) -> WriteTurn:
    """The turn of ``engine``'s database in the running loop (SQLite engines only)."""
    by_database = _turns.setdefault(asyncio.get_running_loop(), {})
    key = engine.url.render_as_string(hide_password=False)
    turn = by_database.get(key)
    if turn is None:
        turn = by_database[key] = WriteTurn(engine.url.database or key)
    return turn


@asynccontextmanager
async def writer_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Wait for this process's turn to write to ``engine``'s database (SQLite; elsewhere at once),
    for writes that do not go through a session or ``begin_writing``."""
    if not takes_turns(engine):
        yield
        return
    async with write_turn(engine).held():
        yield


@asynccontextmanager
async def begin_writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()`` for a Core transaction that writes."""
    if not takes_turns(engine):
        async with engine.begin() as conn:
            yield conn
        return
    turn = write_turn(engine)
    async with turn.held(), engine.begin() as conn:
        await conn.exec_driver_sql(BEGIN_IMMEDIATE)
        turn.open_transactions += 1
        try:
            yield conn
        finally:
            turn.open_transactions -= 1


class WritingSession(Session):
    """The sync session behind ``sessionmaker.begin()`` on SQLite: its transactions begin with
    BEGIN IMMEDIATE (see the listener below)."""


def holds_write_lock(db) -> bool:
    """Whether ``db`` (an AsyncSession) began its transaction holding SQLite's write lock, as the
    sessions of ``sessionmaker.begin()`` do: code that needs it need not take it again."""
    return isinstance(db.sync_session, WritingSession)


@event.listens_for(WritingSession, "after_begin")
def _begin_immediate(session, transaction, connection) -> None:
    # sqlite3 (legacy transaction control) sends no BEGIN of its own before a SELECT, and none
    # before an INSERT once a transaction is open, so this is the transaction's only BEGIN.
    # Savepoints (begin_nested) live inside it.
    if transaction.parent is None and not transaction.nested:
        connection.exec_driver_sql(BEGIN_IMMEDIATE)
        turn = session.info.get(TURN_INFO)
        if turn is not None:
            turn.open_transactions += 1
            session.info[BEGUN_INFO] = transaction


@event.listens_for(WritingSession, "after_transaction_end")
def _transaction_ended(session, transaction) -> None:
    # Only the transaction that ran BEGIN IMMEDIATE: a session's outer transaction object may end
    # without ever having touched the database.
    if session.info.get(BEGUN_INFO) is transaction:
        del session.info[BEGUN_INFO]
        session.info[TURN_INFO].open_transactions -= 1
