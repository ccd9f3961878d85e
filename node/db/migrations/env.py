"""Alembic environment: runs migrations over the async engine given in the config."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import AsyncEngine

import node.models  # noqa: F401  (registers every table on Base.metadata)
from node.db.base import Base
from node.db.engine import make_engine

target_metadata = Base.metadata


def _include_name(name, type_, parent_names) -> bool:
    # The search indexes of migration 0002 are not in the models (node.search): FTS5 tables on
    # SQLite, a generated tsvector column on PostgreSQL. Autogenerate must not drop them.
    if type_ == "table":
        return not (name or "").startswith("search_index")
    return name not in ("search_vector", "ix_search_documents_search_vector")


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(engine: AsyncEngine) -> None:
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Only reached when the alembic CLI is used directly (e.g. autogenerate during development).
    asyncio.run(_run_async(make_engine(context.config.get_main_option("sqlalchemy.url"))))


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `civicnode migrate`")
run_migrations_online()
