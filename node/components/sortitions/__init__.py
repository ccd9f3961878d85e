"""Sortitions: draws of proposals from a pre-announced public value (draw.py, draws.py; the
specification is docs/SORTITION.md) and stratified selection of citizens' panels (panel.py),
from the admin or with `civicnode sortition panel`."""
from node.components.registry import ComponentKind
from node.components.sortitions.routes import setup_routes
from node.i18n import N_
from node.web.lazy import lazy

KIND = ComponentKind(
    name="sortitions",
    label=N_("Sortitions"),
    setup_routes=setup_routes,
    models_module="node.components.sortitions.models",
    view=lazy("node.components.sortitions.views", "view"),
    admin_template="components/sortitions/admin_settings.html",
)
