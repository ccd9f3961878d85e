"""Routes of the verification pages; handlers are imported on first use (node.web.lazy), since
most visits never open them."""
from __future__ import annotations

from aiohttp import web

from node.web.lazy import lazy

ACCOUNT = "node.verification.account_views"
ADMIN = "node.verification.admin_views"


def _form(app: web.Application, path: str, handler, name: str) -> None:
    resource = app.router.add_resource(path, name=name)
    resource.add_route("GET", handler)
    resource.add_route("POST", handler)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/account/verifications", lazy(ACCOUNT, "account_page"), name="account_verifications")
    _form(app, "/account/verifications/email_domain/confirm/{token}",
          lazy("node.verification.handlers.email_domain", "confirm"), "verify_email_confirm")
    _form(app, "/account/verifications/{handler:[a-z_]+}", lazy(ACCOUNT, "handler_page"), "verify")
    app.router.add_get("/admin/verifications", lazy(ADMIN, "admin_list"), name="admin_verifications")
    app.router.add_post("/admin/verifications/manual", lazy(ADMIN, "grant_manual"), name="admin_verification_grant")
    app.router.add_post("/admin/verifications/{auth_id:\\d+}/revoke", lazy(ADMIN, "revoke_view"),
                        name="admin_verification_revoke")
    _form(app, "/admin/verifications/census", lazy("node.verification.admin_census", "census_page"), "admin_census")
    _form(app, "/admin/verifications/domains", lazy(ADMIN, "domains_page"), "admin_verification_domains")
