"""Wiring of remote participation: the host's Like/Undo handlers, the home node's Accept/Reject
handlers, the support form on mirrored proposals, and the space's public records. Modules are imported on first use (the
idle-memory goal, docs/ARCHITECTURE.md)."""
from __future__ import annotations

from aiohttp import web

from node.activitypub.inbox import register_inbox_handler
from node.web.lazy import lazy

INBOX_HANDLERS = (("Like", "host", "on_like"), ("Undo", "host", "on_undo"),
                  ("Accept", "home", "on_accept"), ("Reject", "home", "on_reject"))


def setup_routes(app: web.Application) -> None:
    for activity_type, module, name in INBOX_HANDLERS:
        register_inbox_handler(app, activity_type, lazy(f"node.cohosting.{module}", name))
    app.router.add_get("/spaces/{slug}/records", lazy("node.cohosting.records", "records_collection"),
                       name="space_records")
    app.router.add_post("/following/{space_id}/items/{item_id}/take-part", lazy("node.cohosting.views", "take_part"),
                        name="remote_take_part")
