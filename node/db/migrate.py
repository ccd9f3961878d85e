"""Schema migrations with Alembic, driven from code (no alembic.ini to ship or find)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str = "", connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(connection=sync), revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


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
