"""Routes and inbox handlers of co-hosted consultations, registered at start-up; the modules that
do the work are imported by the first request or activity that needs them (node.web.lazy): most
nodes co-host nothing most of the time (the idle-memory goal, docs/ARCHITECTURE.md).

To add a page, add a line to ROUTES; to react to an activity type, a line to INBOX_HANDLERS.
"""
from __future__ import annotations

from aiohttp import web

from node.activitypub.inbox import register_inbox_handler
from node.web.lazy import lazy

GET, POST, FORM = ("GET",), ("POST",), ("GET", "POST")
SPACE = "/admin/spaces/{space_id:\\d+}"

# (methods, path, module under node.cohosting, handler, route name)
ROUTES = (
    # Host side: the partner nodes of one space.
    (FORM, SPACE + "/partners", "admin_views", "space_partners", "admin_space_partners"),
    (POST, SPACE + "/partners/{partner_id:\\d+}/end", "admin_views", "space_partner_end", "admin_space_partner_end"),
    # Partner side: the spaces of other nodes this node was invited to co-host.
    (GET, "/admin/partnerships", "admin_views", "partnerships", "admin_partnerships"),
    (POST, "/admin/partnerships/{partnership_id:\\d+}/{action:accept|decline|end}", "admin_views",
     "partnership_action", "admin_partnership_action"),
)

# (activity type, module under node.cohosting, handler). Each handler ignores what is not about a
# partnership (an Accept of a Follow, a Remove of something else).
INBOX_HANDLERS = (
    ("Invite", "partners", "on_invite"),     # partner side
    ("Remove", "partners", "on_remove"),     # partner side
    ("Accept", "partners", "on_accept"),     # host side: Accept{Invite}
    ("Reject", "partners", "on_reject"),     # host side: Reject{Invite}
    ("Leave", "partners", "on_leave"),       # host side
)


def setup_routes(app: web.Application) -> None:
    for methods, path, module, handler, name in ROUTES:
        resource = app.router.add_resource(path, name=name)
        target = lazy(f"node.cohosting.{module}", handler)
        for method in methods:
            resource.add_route(method, target)
    for activity_type, module, handler in INBOX_HANDLERS:
        register_inbox_handler(app, activity_type, lazy(f"node.cohosting.{module}", handler))
