"""Storing inbox activities: concurrent POSTs share one transaction ("group commit")."""
from __future__ import annotations

import asyncio

from node.activitypub.models import InboxActivity
from node.db.writes import begin_writing, writer_turn


class GroupInsert:
    """Concurrent inbox POSTs share one INSERT … ON CONFLICT DO NOTHING transaction ("group
    commit"): a commit costs the same for one row or a hundred, and on SQLite writes are serial
    anyway.  A request waits for the batch it joined; nothing is delayed when the inbox is idle.
    ``insert`` answers False for an activity id that was already stored (a replay)."""

    def __init__(self, engine, max_batch: int = 200):
        from node.activitypub.remote_actors import insert_ignoring_conflicts

        self.engine, self.max_batch = engine, max_batch
        # Built once: constructing the statement costs as much as a small batch's parameters.
        self._statement = (insert_ignoring_conflicts(engine, InboxActivity.__table__)
                           .on_conflict_do_nothing(index_elements=["activity_id"])
                           .returning(InboxActivity.activity_id))
        self._pending: list[tuple[dict, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        database = engine.url.database or ""
        self._writer = None
        if engine.dialect.name == "sqlite" and database and database != ":memory:" and "mode=memory" not in database:
            self._writer = _SQLiteWriter(engine)
            self._writer._statement = self._statement

    async def insert(self, row: dict) -> bool:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
                try:
                    inserted = await self._write([row for row, _ in batch])
                except Exception:
                    if len(batch) == 1:
                        raise
                    # One bad row must not fail its neighbours: retry them one by one.
                    self._pending[:0] = [(row, f) for row, f in batch]
                    await self._one_by_one()
                    continue
                claimed = set()
                for row, future in batch:  # the same id twice in one batch: the first one wins
                    won = row["activity_id"] in inserted and row["activity_id"] not in claimed
                    claimed.add(row["activity_id"])
                    if not future.done():
                        future.set_result(won)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._flusher = None
            if self._pending:  # arrived while the last batch failed
                self._flusher = asyncio.create_task(self._flush())

    async def _one_by_one(self) -> None:
        batch, self._pending = self._pending, []
        for row, future in batch:
            try:
                result = row["activity_id"] in await self._write([row])
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

    async def _write(self, rows: list[dict]) -> set[str]:
        unique = list({row["activity_id"]: row for row in reversed(rows)}.values())
        if self._writer is not None:
            async with writer_turn(self.engine):
                return await self._writer.write(unique)
        async with begin_writing(self.engine) as conn:
            return set((await conn.execute(self._statement, unique)).scalars())

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None


class _SQLiteWriter:
    """The batch in one hop to a writer thread, on a plain sqlite3 connection.

    Through aiosqlite every step of a transaction (checkout, cursor, execute, fetch, commit,
    reset) is a hop to its thread and back: ~0.7 ms of the event loop's time per batch, as much
    as verifying a signature.  And each SQLite call a thread makes gives up the GIL and must get
    it back from an event loop busy verifying signatures, a wait of up to a millisecond each.
    So the usual batch is one statement: a multi-row INSERT in autocommit mode, all or nothing.
    Only when it hits an id already stored (a replay) is the batch redone row by row in one
    transaction, each row's rowcount telling whether it was new.  Values go through the
    columns' own bind processors, so the rows are exactly what SQLAlchemy would store."""

    def __init__(self, engine):
        from concurrent.futures import ThreadPoolExecutor

        dialect = engine.sync_engine.dialect
        self._path = engine.url.database
        columns = [c for c in InboxActivity.__table__.columns if not c.primary_key]
        self._columns = [(c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in columns]
        self._insert = f"INSERT INTO {InboxActivity.__tablename__} ({', '.join(c.name for c in columns)}) VALUES "
        self._row = "(" + ", ".join("?" for _ in columns) + ")"
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="inbox-writer")
        self._connection = None  # opened in the writer thread, used only there

    async def write(self, rows: list[dict]) -> set[str]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._write, rows)

    def _write(self, rows: list[dict]) -> set[str]:
        import sqlite3

        if self._connection is None:
            from node.db.engine import _sqlite_pragmas

            self._connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            _sqlite_pragmas(self._connection, None)
        values = [[process(row[name]) if process else row[name] for name, process in self._columns]
                  for row in rows]
        try:
            self._connection.execute(self._insert + ", ".join(self._row for _ in rows),
                                     [value for row in values for value in row])
            return {row["activity_id"] for row in rows}
        except sqlite3.IntegrityError:
            pass  # nothing was written: find out row by row which ids are new
        inserted = set()
        cursor = self._connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            for row, row_values in zip(rows, values):
                cursor.execute(self._insert + self._row + " ON CONFLICT (activity_id) DO NOTHING", row_values)
                if cursor.rowcount == 1:
                    inserted.add(row["activity_id"])
            cursor.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:  # SQLite ends it by itself on some errors
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
        return inserted

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        # Queued after a batch being written, which finishes first (its senders await it).
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)
