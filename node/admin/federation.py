"""Admin view of outgoing federation: health of each receiving host, recent outbox activities and
where each delivery stands.  Lets an administrator answer "did the town's node get it?" and
"why not?", and send again at once to a host that is back."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from federation.delivery import Policy, host_phase
from node.activitypub.delivery import mark_host_alive, queue_summary
from node.activitypub.delivery_models import LIVE, Delivery, HostState, OutboxActivity
from node.activitypub.outbox import wake_workers
from node.admin.forms import done_message, int_param, redirect
from node.appkeys import DB
from node.db.base import utcnow
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

RECENT_ACTIVITIES = 30
MAX_HOSTS = 200
MAX_DELIVERIES = 500


async def overview(request: web.Request) -> web.Response:
    require_admin(request)
    now = utcnow()
    async with request.app[DB]() as db:
        # Only live rows are counted (the status index finds them): final ones pile up.
        counts = dict((await db.execute(select(Delivery.host, func.count()).where(Delivery.status.in_(LIVE))
                                        .group_by(Delivery.host))).all())
        rows = (await db.scalars(select(HostState)
                                 .order_by(HostState.unavailable_since.is_(None), HostState.consecutive_failures.desc(),
                                           HostState.host).limit(MAX_HOSTS))).all()
        activities = (await db.scalars(select(OutboxActivity).order_by(OutboxActivity.id.desc())
                                       .limit(RECENT_ACTIVITIES))).all()
        summary = await queue_summary(db, [a.id for a in activities])
    policy = Policy()
    hosts = [{"row": row, "phase": host_phase(row, now, policy).value, "queued": counts.get(row.host) or 0}
             for row in rows]
    return render(request, "admin/federation.html", {
        "hosts": hosts, "activities": activities, "summary": summary, "done": done_message(request)})


async def activity(request: web.Request) -> web.Response:
    require_admin(request)
    activity_id = int_param(request, "activity_id")
    async with request.app[DB]() as db:
        row = await db.get(OutboxActivity, activity_id)
        if row is None:
            raise user_error(404, "This page does not exist.")
        deliveries = (await db.scalars(select(Delivery).where(Delivery.outbox_activity_id == activity_id)
                                       .order_by(Delivery.host, Delivery.id).limit(MAX_DELIVERIES))).all()
        total = await db.scalar(select(func.count()).select_from(Delivery)
                                .where(Delivery.outbox_activity_id == activity_id))
    return render(request, "admin/federation_activity.html",
                  {"activity": row, "deliveries": deliveries, "total": total})


async def retry_host(request: web.Request) -> web.Response:
    """Treat the host as reachable again: close its circuit, forget it was unavailable, send
    what is waiting for it now (skipped deliveries stay skipped)."""
    require_admin(request)
    host_id = int_param(request, "host_id")
    async with request.app[DB].begin() as db:
        row = await db.get(HostState, host_id)
        if row is None:
            raise user_error(404, "This page does not exist.")
        await mark_host_alive(db, row.host)
    wake_workers()
    raise redirect(request, "admin_federation", "saved")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/federation", overview, name="admin_federation")
    app.router.add_get("/admin/federation/activities/{activity_id}", activity, name="admin_federation_activity")
    app.router.add_post("/admin/federation/hosts/{host_id}/retry", retry_host, name="admin_federation_retry")
