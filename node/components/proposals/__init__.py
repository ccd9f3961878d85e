"""Proposals: residents publish proposals, support them, amend them; the node's staff answers.
Rules in service.py, supports.py and amendments.py; pages in views.py and actions.py."""
from node.components.comments import register_commentable
from node.components.proposals.api import openapi, setup_api
from node.components.proposals.comments import load_proposal_target
from node.components.proposals.routes import setup_routes
from node.components.proposals.settings import DEFAULT_SETTINGS, parse_settings
from node.components.proposals.views import view
from node.components.registry import ComponentKind
from node.i18n import N_

register_commentable("proposal", load_proposal_target)

KIND = ComponentKind(
    name="proposals",
    label=N_("Proposals"),
    setup_routes=setup_routes,
    default_settings=DEFAULT_SETTINGS,
    models_module="node.components.proposals.models",
    publish_module="node.components.proposals.publish",
    view=view,
    admin_template="components/proposals/admin_settings.html",
    parse_settings=parse_settings,
    setup_api=setup_api,
    openapi=openapi,
    actions=(("create", N_("create proposals")), ("support", N_("support proposals")),
             ("amend", N_("amend proposals")), ("comment", N_("comment on proposals"))),
)
