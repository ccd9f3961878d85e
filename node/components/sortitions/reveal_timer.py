"""When to reveal this node's committed draw secrets (node.components.sortitions.commit_reveal):
one in-process timer for the earliest draw time still to come, set at start-up and whenever a
secret is committed. When it fires, ``reveal_due`` reveals every secret due and the timer is set
for the next. Kept small and free of federation imports: every node runs it at start-up.

The timer is a convenience, not the only trigger: the host also asks for the reveals at the first
view of the draw after its time, and a partner reveals on that request.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from node.appkeys import DB

log = logging.getLogger("civicnode.sortitions")

# {"handle": the pending asyncio.TimerHandle or None, "at": its draw time, "tasks": running reveals}
TIMER = web.AppKey("draw_seed_timer", dict)
# A timer far in the future is set again later rather than trusted across clock changes.
MAX_DELAY = 24 * 3600.0


def setup(app: web.Application) -> None:
    app[TIMER] = {"handle": None, "at": None, "tasks": set()}

    async def run(app: web.Application):
        try:
            await schedule_next(app)
        except SQLAlchemyError as exc:  # a database not migrated yet: nothing to reveal
            log.info("draw secrets not scheduled: %s", exc)
        yield
        state = app[TIMER]
        if state["handle"] is not None:
            state["handle"].cancel()
        for task in list(state["tasks"]):
            task.cancel()

    app.cleanup_ctx.append(run)


async def schedule_next(app: web.Application) -> None:
    from node.components.sortitions import draws
    from node.components.sortitions.models import DrawSecret

    async with app[DB]() as db:
        first = await db.scalar(select(func.min(DrawSecret.draw_at)).where(
            DrawSecret.revealed_at.is_(None), DrawSecret.draw_at > draws.now()))
    if first is not None:
        schedule(app, first)


def schedule(app: web.Application, draw_at: datetime) -> None:
    """Make sure the timer fires at ``draw_at`` or earlier."""
    from node.components.sortitions import draws

    state = app.get(TIMER)
    if state is None:
        return
    if state["handle"] is not None and state["at"] is not None and state["at"] <= draw_at:
        return
    if state["handle"] is not None:
        state["handle"].cancel()
    delay = min(MAX_DELAY, max(0.0, (draw_at - draws.now()).total_seconds() + 1))
    state["at"] = draw_at
    state["handle"] = asyncio.get_running_loop().call_later(delay, _fire, app)


def _fire(app: web.Application) -> None:
    state = app[TIMER]
    state["handle"], state["at"] = None, None
    task = asyncio.create_task(_reveal(app))
    state["tasks"].add(task)
    task.add_done_callback(state["tasks"].discard)


async def _reveal(app: web.Application) -> None:
    from node.components.sortitions.commit_reveal import reveal_due

    try:
        await reveal_due(app)
    except Exception:  # the next view or request tries again
        log.exception("revealing draw secrets failed")
    await schedule_next(app)
