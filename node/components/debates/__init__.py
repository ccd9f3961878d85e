"""Debates: conversations opened by a space's organisers (or by residents when the component
allows it), commented through node.components.comments and closed with a conclusion."""
from node.components.comments import register_commentable
from node.components.debates.api import openapi, setup_api
from node.components.debates.service import DEFAULT_SETTINGS, load_debate_target
from node.components.debates.views import parse_settings, setup_routes, view
from node.components.registry import ComponentKind
from node.i18n import N_

register_commentable("debate", load_debate_target)

KIND = ComponentKind(
    name="debates",
    label=N_("Debates"),
    setup_routes=setup_routes,
    default_settings=dict(DEFAULT_SETTINGS),
    models_module="node.components.debates.models",
    publish_module="node.components.debates.publish",
    view=view,
    admin_template="components/debates/admin_settings.html",
    parse_settings=parse_settings,
    setup_api=setup_api,
    openapi=openapi,
    actions=(("create", N_("open debates")), ("comment", N_("comment on debates"))),
)
