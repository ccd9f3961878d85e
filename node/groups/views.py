"""Routes of the user-group pages; handlers are imported on first use (node.web.lazy), since
most visits never open them."""
from __future__ import annotations

from aiohttp import web

from node.web.lazy import lazy

PAGES = "node.groups.pages"
ADMIN = "node.groups.admin_views"
NICK = "{nickname:[a-z0-9_]{1,30}}"


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/groups", lazy(PAGES, "group_list"), name="groups")
    resource = app.router.add_resource("/groups/new", name="group_new")
    resource.add_route("GET", lazy(PAGES, "new_group"))
    resource.add_route("POST", lazy(PAGES, "new_group"))
    app.router.add_get(f"/groups/{NICK}", lazy(PAGES, "group_page"), name="group")
    resource = app.router.add_resource(f"/groups/{NICK}/edit", name="group_edit")
    resource.add_route("GET", lazy(PAGES, "edit_group"))
    resource.add_route("POST", lazy(PAGES, "edit_group"))
    app.router.add_post(f"/groups/{NICK}/{{action:join|accept|leave|invite}}", lazy(PAGES, "own_action"),
                        name="group_action")
    app.router.add_post(f"/groups/{NICK}/members/{{user_id:\\d+}}/{{action:approve|refuse|promote|demote|remove}}",
                        lazy(PAGES, "member_action"), name="group_member_action")
    app.router.add_get("/admin/groups", lazy(ADMIN, "admin_list"), name="admin_groups")
    app.router.add_post("/admin/groups/{group_id:\\d+}/{action:verify|unverify}", lazy(ADMIN, "verify_view"),
                        name="admin_group_verify")
