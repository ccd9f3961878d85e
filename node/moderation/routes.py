"""The moderation routes and the ``Flag`` inbox handler; their handlers (node.moderation.views,
node.moderation.federation and the service behind them) are imported by the first request or
activity that needs them, not at start-up (node.web.lazy)."""
from __future__ import annotations

from aiohttp import web

from node.activitypub.inbox import register_inbox_handler
from node.web.lazy import lazy

VIEWS = "node.moderation.views"


def setup_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/report", lazy(VIEWS, "report_form"), name="report")
    router.add_post("/report", lazy(VIEWS, "report"))
    router.add_get("/moderation", lazy(VIEWS, "moderation_queue"), name="moderation")
    router.add_post("/moderation/hide", lazy(VIEWS, "hide_view"), name="moderation_hide")
    router.add_post("/moderation/{moderation_id:\\d+}/unhide", lazy(VIEWS, "unhide_view"), name="moderation_unhide")
    router.add_post("/users/{username}/{action:block|unblock}", lazy(VIEWS, "block_view"), name="user_block")
    router.add_get("/admin/log", lazy(VIEWS, "admin_log"), name="admin_log")
    # The Flags node.moderation.federation sends, at their ids (signed fetch by their addressees).
    router.add_get("/actor/flags/{key:[0-9a-f-]{36}}", lazy("node.activitypub.addressed", "flag_activity"),
                   name="flag_activity")
    # Reports forwarded by other nodes (docs/FEDERATION.md, "Moderation across nodes").
    register_inbox_handler(app, "Flag", lazy("node.moderation.federation", "on_flag"))
