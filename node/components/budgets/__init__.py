"""Participatory budgets: budgets with projects, ballots built in a basket and cast once with a
receipt, public ballots and results computed by the outcome rules (rules.py), Pabulib files in
and out (pabulib.py, exchange.py). Rules of ballots in service.py; pages in views.py and
admin.py, imported on first use (routes.py); docs/BUDGETS.md describes them."""
from node.components.budgets.routes import openapi, setup_api, setup_routes
from node.components.budgets.settings import DEFAULT_SETTINGS, parse_settings
from node.components.registry import ComponentKind
from node.i18n import N_
from node.web.lazy import lazy

KIND = ComponentKind(
    name="budgets",
    label=N_("Budgets"),
    setup_routes=setup_routes,
    default_settings=dict(DEFAULT_SETTINGS),
    models_module="node.components.budgets.models",
    view=lazy("node.components.budgets.views", "view"),
    admin_template="components/budgets/admin_settings.html",
    parse_settings=parse_settings,
    actions=(("vote", N_("vote in budgets")),),
    setup_api=setup_api,
    openapi=openapi,
)
