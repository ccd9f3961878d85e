"""Pages: a translatable text inside a space (rules of the process, FAQ, contact)."""
from node.components.pages.views import parse_settings, setup_routes, view
from node.components.registry import ComponentKind
from node.i18n import N_

KIND = ComponentKind(
    name="pages",
    label=N_("Page"),
    setup_routes=setup_routes,
    default_settings={"body": {}},
    view=view,
    admin_template="components/pages/admin_settings.html",
    parse_settings=parse_settings,
)
