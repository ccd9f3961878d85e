"""The lightweight schema check agrees with Alembic, and the models match the migrations."""
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from node.db import make_engine
from node.db.migrate import alembic_config
from node.db.schema import head_revision, known_revisions, schema_status


def test_head_and_revisions_agree_with_alembic():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()
    assert known_revisions() == {script.revision for script in scripts.walk_revisions()}


async def test_migrated_database_is_up_to_date_and_has_every_model_table(migrated):
    import node.models  # noqa: F401
    from node.db.base import Base

    engine = make_engine(migrated.database_url)
    try:
        status = await schema_status(engine)
        assert status.up_to_date and status.problem() is None
        async with engine.connect() as connection:
            reflected = MetaData()
            await connection.run_sync(reflected.reflect)
    finally:
        await engine.dispose()
    missing = set(Base.metadata.tables) - set(reflected.tables)
    assert not missing, f"models without a migration: {missing}; run scripts/regen-initial-migration"
