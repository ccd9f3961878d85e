"""The permissions admin page's route, registered at start-up; its handler (and the form code)
is imported by the first request that opens it (node.web.lazy)."""
from __future__ import annotations

from aiohttp import web

from node.web.lazy import lazy

ROUTE = "admin_component_permissions"


def setup_admin_routes(app: web.Application) -> None:
    path = "/admin/spaces/{space_id:\\d+}/components/{component_id:\\d+}/permissions"
    resource = app.router.add_resource(path, name=ROUTE)
    handler = lazy("node.permissions.admin", "permissions_page")
    resource.add_route("GET", handler)
    resource.add_route("POST", handler)
