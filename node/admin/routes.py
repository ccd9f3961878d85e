"""Every route of the administration, registered at start-up; the pages' modules (forms,
validation, the component and phase editors…) are imported by the first request that opens one
(node.web.lazy): most of a node's life nobody is administering it."""
from __future__ import annotations

from aiohttp import web

from node.permissions.routes import setup_admin_routes as setup_permissions_routes
from node.web.lazy import lazy

SPACE = "/admin/spaces/{space_id:\\d+}"
FORM = ("GET", "POST")

# (methods, path, module under node.admin, handler, route name)
ROUTES = (
    (("GET",), "/admin", "views", "dashboard", "admin_home"),
    (FORM, "/admin/settings", "node", "node_settings", "admin_node"),
    (("GET",), "/admin/spaces", "spaces", "spaces_list", "admin_spaces"),
    (FORM, "/admin/spaces/new", "spaces", "space_new", "admin_space_new"),
    (("GET",), SPACE, "spaces", "space_overview", "admin_space"),
    (FORM, SPACE + "/edit", "spaces", "space_edit", "admin_space_edit"),
    (("POST",), SPACE + "/publish", "spaces", "space_publish", "admin_space_publish"),
    (FORM, SPACE + "/phases/new", "phases", "phase_form", "admin_phase_new"),
    (FORM, SPACE + "/phases/{phase_id:\\d+}", "phases", "phase_form", "admin_phase_edit"),
    (("POST",), SPACE + "/phases/{phase_id:\\d+}/{action:activate|move|delete}", "phases", "phase_action",
     "admin_phase_action"),
    (("POST",), SPACE + "/components", "components", "component_add", "admin_component_add"),
    (FORM, SPACE + "/components/{component_id:\\d+}", "components", "component_edit", "admin_component"),
    (("POST",), SPACE + "/components/{component_id:\\d+}/{action:publish|unpublish|move|delete}", "components",
     "component_action", "admin_component_action"),
    (("POST",), SPACE + "/roles", "space_roles", "role_add", "admin_space_role_add"),
    (("POST",), SPACE + "/roles/{role_id:\\d+}/delete", "space_roles", "role_remove", "admin_space_role_remove"),
    (("GET",), "/admin/users", "users", "users_list", "admin_users"),
    (("POST",), "/admin/users/{user_id:\\d+}/role", "users", "user_role", "admin_user_role"),
    (FORM, "/admin/federation/servers", "instances", "instances", "admin_instances"),
    (("POST",), "/admin/federation/servers/remove", "instances", "remove_rule", "admin_instance_remove"),
)


def setup_routes(app: web.Application) -> None:
    for methods, path, module, handler, name in ROUTES:
        resource = app.router.add_resource(path, name=name)
        target = lazy(f"node.admin.{module}", handler)
        for method in methods:
            resource.add_route(method, target)
    setup_permissions_routes(app)
