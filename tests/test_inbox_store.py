"""The inbox's group commit (node.activitypub.group_insert) on both backends: concurrent
activities share a batch, replays and in-batch repeats are told apart from new ones, a bad row
fails alone, and what is stored reads back exactly as written."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from node.activitypub.group_insert import GroupInsert
from node.activitypub.models import InboxActivity
from node.db import make_engine, make_sessionmaker
from node.db.base import utcnow


def activity_row(n: int, **changes) -> dict:
    now = utcnow()
    return {"activity_id": f"https://remote.example/activities/{n}", "actor": "https://remote.example/users/ana",
            "type": "Create", "recipient": None, "key_id": "https://remote.example/users/ana#main-key",
            "body": {"id": f"https://remote.example/activities/{n}", "content": "<p>Plaça del Mercat, 3 €</p>",
                     "tags": [1, 2.5, None, True]},
            "status": "ignored", "error": None, "received_at": now, "processed_at": now + timedelta(seconds=1),
            **changes}


async def test_batches_tell_new_activities_from_replays_and_isolate_bad_rows(migrated):
    engine = make_engine(migrated.database_url)
    group = GroupInsert(engine)
    try:
        first = activity_row(1)
        assert await asyncio.gather(group.insert(first), group.insert(dict(first)),
                                    group.insert(activity_row(2))) == [True, False, True]
        # A replay in a batch of new activities: only the new ones count as stored.
        assert await asyncio.gather(group.insert(activity_row(1)), group.insert(activity_row(3)),
                                    group.insert(activity_row(4))) == [False, True, True]
        # A row the database refuses fails alone; its neighbours are stored.
        answers = await asyncio.gather(group.insert(activity_row(5, actor=None)), group.insert(activity_row(6)),
                                       return_exceptions=True)
        assert isinstance(answers[0], Exception) and answers[1] is True
        async with make_sessionmaker(engine)() as db:
            stored = {row.activity_id: row for row in await db.scalars(select(InboxActivity))}
        assert sorted(stored) == [f"https://remote.example/activities/{n}" for n in (1, 2, 3, 4, 6)]
        kept = stored["https://remote.example/activities/1"]
        assert kept.body == first["body"] and kept.received_at == first["received_at"]
        assert kept.processed_at == first["processed_at"] and kept.recipient is None and kept.status == "ignored"
    finally:
        await group.close()
        await engine.dispose()


async def test_many_concurrent_activities_are_all_stored_once(migrated):
    engine = make_engine(migrated.database_url)
    group = GroupInsert(engine, max_batch=50)
    try:
        rows = [activity_row(n) for n in range(300)]
        answers = await asyncio.gather(*(group.insert(row) for row in rows + rows[:30]))
        assert answers[:300] == [True] * 300 and answers[300:] == [False] * 30
        async with make_sessionmaker(engine)() as db:
            assert len((await db.scalars(select(InboxActivity.id))).all()) == 300
    finally:
        await group.close()
        await engine.dispose()
