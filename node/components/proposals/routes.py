"""URLs of proposals. A proposal's page is /spaces/<slug>/proposals/<id>, its federated id."""
from __future__ import annotations

from aiohttp import web

from node.components import comments
from node.components.proposals import actions, views
from node.components.proposals.listing import SEED_COOKIE
from node.web.cache import cache_routes, vary_on_cookie
from node.web.lazy import lazy


def setup_routes(app: web.Application) -> None:
    def form(path: str, handler, name: str) -> None:
        resource = app.router.add_resource(path, name=name)
        resource.add_route("GET", handler)
        resource.add_route("POST", handler)

    base = "/spaces/{slug}/proposals/{proposal_id}"
    form("/spaces/{slug}/c/{component_id}/proposals/new", actions.new_proposal, "proposal_new")
    app.router.add_get(base, views.show, name="proposal")
    app.router.add_get(base + "/versions", views.history, name="proposal_versions")
    # Public pages; the list's random order also depends on the visitor's seed cookie.
    cache_routes(app, "proposal", "proposal_versions")
    vary_on_cookie(app, SEED_COOKIE)
    form(base + "/edit", actions.edit_proposal, "proposal_edit")
    form(base + "/amend", actions.amend, "proposal_amend")
    app.router.add_post(base + "/{action:support|unsupport|withdraw}", actions.proposal_action,
                        name="proposal_action")
    app.router.add_post(base + "/answer", actions.answer, name="proposal_answer")
    app.router.add_post(base + "/amendments/{amendment_id}/{decision:accept|reject}",
                        actions.decide_amendment, name="proposal_amendment_decide")
    # The admin's supports-phase page, with the admin forms it needs, loads when first opened.
    form("/admin/spaces/{space_id:\\d+}/components/{component_id:\\d+}/proposal-supports",
         lazy("node.components.proposals.admin", "supports_admin"), "admin_proposals_supports")
    comments.setup_routes(app)  # idempotent: every commentable kind calls it
