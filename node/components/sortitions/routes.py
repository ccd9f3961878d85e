"""URLs of sortitions. Every handler is imported on its first request (node.web.lazy): draws
are rare events, and panel selection pulls in SciPy."""
from __future__ import annotations

from aiohttp import web

from node.activitypub.inbox import register_inbox_handler
from node.web.cache import cache_routes
from node.web.lazy import lazy

VIEWS = "node.components.sortitions.views"
ADMIN = "node.components.sortitions.admin"
PANELS = "node.components.sortitions.panel_admin"
SEEDS = "node.components.sortitions.commit_reveal"
# Seeds drawn among nodes (docs/FEDERATION.md, "Draw seeds"): (activity type, handler).
INBOX_HANDLERS = (
    ("DrawSeedRequest", "on_request"),              # partner side
    ("DrawSeedRevealRequest", "on_reveal_request"),  # partner side
    ("DrawSeedCommit", "on_commit"),                # host side
    ("DrawSeedReveal", "on_reveal"),                # host side
)


def setup_routes(app: web.Application) -> None:
    router = app.router

    def form(path: str, handler, name: str) -> None:
        resource = router.add_resource(path, name=name)
        resource.add_route("GET", handler)
        resource.add_route("POST", handler)

    # At most 9 digits: larger numbers are no row's id, and PostgreSQL refuses them as integers.
    draw = "/spaces/{slug}/c/{component_id:\\d{1,9}}/draws/{draw_id:\\d{1,9}}"
    router.add_get(draw, lazy(VIEWS, "show"), name="sortition_draw")
    router.add_get(draw + ".json", lazy(VIEWS, "show_json"), name="sortition_draw_json")
    # Anonymous visitors may get the page from the microcache (a few seconds old at most).
    cache_routes(app, "sortition_draw")
    admin = "/admin/spaces/{space_id:\\d{1,9}}/components/{component_id:\\d{1,9}}"
    router.add_get(admin + "/draws", lazy(ADMIN, "draws_admin"), name="admin_sortition_draws")
    form(admin + "/draws/new", lazy(ADMIN, "announce"), "admin_sortition_draw_new")
    form(admin + "/draws/{draw_id:\\d{1,9}}", lazy(ADMIN, "manage"), "admin_sortition_draw")
    form(admin + "/panels", lazy(PANELS, "panels_admin"), "admin_sortition_panels")
    router.add_get(admin + "/panels/{panel_id:\\d{1,9}}", lazy(PANELS, "panel_result"), name="admin_sortition_panel")
    router.add_get(admin + "/panels/{panel_id:\\d{1,9}}.json", lazy(PANELS, "panel_json"),
                   name="admin_sortition_panel_json")
    for activity_type, handler in INBOX_HANDLERS:
        register_inbox_handler(app, activity_type, lazy(SEEDS, handler))
    from node.components.sortitions import reveal_timer

    reveal_timer.setup(app)
