"""SQLAlchemy's aiosqlite dialect, with each statement one trip to aiosqlite's thread.

aiosqlite runs the sqlite3 connection in a thread of its own and every call on it is a trip
there and back (a queue put, a wake-up of the thread, a future resolved through the event
loop). SQLAlchemy's adapter makes four trips per statement — open a cursor, execute, fetch all
rows, close the cursor — and one more to roll back a connection going back to the pool, even
when it holds no transaction. Those trips, not SQLite, are most of what a statement costs on a
node (about 0.1 ms each, more on a busy machine; a SELECT by primary key takes a few µs in
SQLite itself), and a page asks for several.

Here a statement is one trip: a function run in aiosqlite's thread opens a cursor, executes,
reads the description, the row count, the last row id and all rows, and closes the cursor, as
SQLAlchemy's adapter does in four steps (SQLAlchemy itself queues functions on aiosqlite's
thread this way to set the isolation level). Commit and rollback are skipped when sqlite3 says
no transaction is open, where they would do nothing. Server-side cursors (``stream_results``)
keep SQLAlchemy's own cursor. Everything else — pool, exceptions, types — is the stock dialect's.

``node.db.engine.make_engine`` uses it for ``sqlite+aiosqlite`` URLs.
"""
from __future__ import annotations

import collections
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

DRIVERNAME = "sqlite+civicnode_aiosqlite"


def _run(connection, operation: str, parameters) -> tuple:
    """In aiosqlite's thread: the whole statement, as the adapter's four trips would do it."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else ()
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _run_many(connection, operation: str, parameters) -> tuple:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, cursor.rowcount, cursor.lastrowid, ()
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose results are read in the statement's one trip and kept here."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection):
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # the sqlite3 cursor lives and dies inside _run
        self._soft_closed_memoized = {}
        self._rows = collections.deque()
        self._description, self._rowcount, self._lastrowid, self._arraysize = None, -1, None, 1

    @property
    def description(self):
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self):
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # nothing left open: the rows are here already

    def close(self) -> None:
        self._rows.clear()

    async def _trip(self, function, operation: str, parameters) -> None:
        async with self._adapt_connection._execute_mutex:
            self._description, self._rowcount, self._lastrowid, rows = await self._connection._execute(
                function, self._connection._conn, operation, parameters)
            self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters=None) -> Any:
        try:
            return await_(self._trip(_run, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters) -> Any:
        try:
            return await_(self._trip(_run_many, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def nextset(self) -> None:
        return None  # sqlite3 has no multiple result sets


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    def rollback(self) -> None:
        if self._connection._connection and self._connection.in_transaction:
            super().rollback()

    def commit(self) -> None:
        if self._connection._connection and self._connection.in_transaction:
            super().commit()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        stock = super().connect(*arg, **kw)
        return OneTripConnection(self, stock._connection)


class OneTripDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(DRIVERNAME.replace("+", "."), __name__, "OneTripDialect")
