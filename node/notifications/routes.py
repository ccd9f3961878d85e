"""The notification routes; node.notifications.views is imported by the first request that needs
it (node.web.lazy).  The notifier itself runs from start-up."""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from node.notifications.notifier import setup_notifier
from node.web.lazy import lazy
from node.web.sessions import UNREAD_NOTIFICATIONS

VIEWS = "node.notifications.views"


def setup_routes(app: web.Application) -> None:
    aiohttp_jinja2.get_env(app).globals["unread_notifications"] = lambda request: request.get(UNREAD_NOTIFICATIONS)
    router = app.router
    router.add_get("/notifications", lazy(VIEWS, "index"), name="notifications")
    router.add_post("/notifications/read", lazy(VIEWS, "mark_all_read"), name="notifications_read_all")
    router.add_post("/notifications/{notification_id:\\d+}/read", lazy(VIEWS, "mark_read"), name="notification_read")
    router.add_post("/follow", lazy(VIEWS, "follow_view"), name="follow")
    router.add_post("/account/notifications", lazy(VIEWS, "email_setting"), name="account_notifications")
    setup_notifier(app)
