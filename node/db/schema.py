"""Is the database schema the one this code expects? Answered without importing Alembic, so
that `civicnode serve` does not carry Alembic and Mako in memory (about 10 MB) just to check.

Revision ids are read from the migration files themselves; tests check that this agrees with
Alembic's own view (tests/test_schema.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(None|['\"]([^'\"]+)['\"])", re.MULTILINE)


@lru_cache(maxsize=1)
def revision_graph() -> dict[str, str | None]:
    """revision -> down_revision, for every migration file."""
    graph = {}
    for path in VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision and down:
            graph[revision.group(1)] = down.group(2)
    return graph


def head_revision() -> str:
    graph = revision_graph()
    heads = set(graph) - {down for down in graph.values() if down}
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}); merge them")
    return heads.pop()


def known_revisions() -> set[str]:
    return set(revision_graph())


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        if not await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return None
        return await connection.scalar(text("SELECT version_num FROM alembic_version"))


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def newer_than_code(self) -> bool:
        return self.current is not None and self.current not in known_revisions()

    def problem(self) -> str | None:
        """A one-line explanation when the database does not match the code, else None."""
        if self.current is None:
            return "the database has no schema yet; run `civicnode migrate`"
        if self.current == self.head:
            return None
        if self.newer_than_code:
            return (f"the database schema ({self.current}) is newer than this civicnode; "
                    "upgrade civicnode before serving this database")
        return (f"the database schema ({self.current}) is older than this civicnode ({self.head}); "
                "run `civicnode migrate`")


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    return SchemaStatus(current=await current_revision(engine), head=head_revision())
