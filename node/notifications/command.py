"""`civicnode digest`: mail the daily digests now (run it from cron once a day)."""
from __future__ import annotations

from node.cli import CLIError
from node.config import Settings
from node.db import make_engine, make_sessionmaker
from node.db.schema import schema_status
from node.i18n import load_catalogs
from node.notifications.mails import MailContext, send_digests
from node.site import load_node_info


async def run_digest(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        problem = (await schema_status(engine)).problem()
        if problem:
            raise CLIError(problem)
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as db:
            node_info = await load_node_info(db, settings)
        context = MailContext(settings, load_catalogs(cache_dir=settings.data_dir / "cache"), node_info)
        sent = await send_digests(sessionmaker, context, force=True)
    finally:
        await engine.dispose()
    print(f"{sent} digest(s) sent")
    return 0
