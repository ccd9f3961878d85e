"""`civicnode search reindex`: rebuild the search index from the items themselves.

For a database restored from elsewhere, content written by a tool that bypassed the ORM, or a
change in what is indexed. One transaction: searches see the old index until it commits.
"""
from __future__ import annotations

from sqlalchemy import delete, insert, select, text

from node.search.indexer import document_row, sources
from node.search.models import SearchDocument

BATCH = 500


async def reindex(sessionmaker) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with sessionmaker.begin() as db:
        await db.execute(delete(SearchDocument))
        for cls, source in sources().items():
            counts[source.item_type], last = 0, 0
            while True:
                batch = list(await db.scalars(select(cls).where(cls.id > last).order_by(cls.id).limit(BATCH)))
                if not batch:
                    break
                last = batch[-1].id
                rows = [row for row in map(document_row, batch) if row is not None]
                if rows:
                    await db.execute(insert(SearchDocument.__table__), rows)
                counts[source.item_type] += len(rows)
                db.expunge_all()  # read once, never changed: no need to keep them
        if db.bind.dialect.name == "sqlite":
            # The triggers kept it in step; 'rebuild' also repairs an index damaged by hand.
            await db.execute(text("INSERT INTO search_index(search_index) VALUES ('rebuild')"))
    return counts


async def run_search_command(settings, args) -> int:
    from node.cli import CLIError
    from node.db import make_engine, make_sessionmaker
    from node.db.schema import schema_status

    engine = make_engine(settings.database_url)
    try:
        problem = (await schema_status(engine)).problem()
        if problem:
            raise CLIError(problem)
        counts = await reindex(make_sessionmaker(engine))
    finally:
        await engine.dispose()
    print("indexed " + ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items()))
    return 0
