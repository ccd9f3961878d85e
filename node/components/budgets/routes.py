"""URLs of budgets. Every handler is imported on first use (node.web.lazy): a node whose
budgets nobody opens does not hold their code, nor the outcome rules."""
from __future__ import annotations

from collections import OrderedDict

from aiohttp import web

from node.web.cache import cache_routes
from node.web.lazy import lazy

BASE = "/spaces/{slug}/c/{component_id:\\d+}/budgets/{budget_id:\\d+}"
ADMIN = "/admin/spaces/{space_id:\\d+}/components/{component_id:\\d+}/budgets"
FORM = ("GET", "POST")
# Outcomes computed by this app (node.components.budgets.results.count); set up at start-up,
# while the application can still take new state.
OUTCOMES = web.AppKey("budget_outcomes", OrderedDict)

# (methods, path, module under node.components.budgets, handler, route name)
ROUTES = (
    (("GET",), BASE, "views", "show", "budget"),
    (("POST",), BASE + "/basket", "views", "basket", "budget_basket"),
    (FORM, BASE + "/checkout", "views", "checkout", "budget_checkout"),
    (("GET",), BASE + "/ballots", "views", "ballots", "budget_ballots"),
    (("GET",), BASE + "/ballots.json", "views", "ballots_json", "budget_ballots_json"),
    (("GET",), BASE + "/results", "views", "results", "budget_results"),
    (("GET",), BASE + "/results.json", "views", "results_json", "budget_results_json"),
    (("GET",), BASE + "/export.pb", "views", "export", "budget_export"),
    # Read by partner nodes whose residents vote here (node.cohosting.ballots_home).
    (("GET",), "/spaces/{slug}/budgets.json", "public", "space_budgets_json", "space_budgets_json"),
    (FORM, ADMIN, "admin", "budgets_admin", "admin_budgets"),
    (("POST",), ADMIN + "/import", "admin", "import_file", "admin_budgets_import"),
    (FORM, ADMIN + "/new", "admin", "budget_form", "admin_budget_new"),
    (FORM, ADMIN + "/{budget_id:\\d+}", "admin", "budget_form", "admin_budget"),
    (("POST",), ADMIN + "/{budget_id:\\d+}/import-proposals", "admin", "import_proposals",
     "admin_budget_import_proposals"),
    (FORM, ADMIN + "/{budget_id:\\d+}/projects/new", "admin", "project_form", "admin_budget_project_new"),
    (FORM, ADMIN + "/{budget_id:\\d+}/projects/{project_id:\\d+}", "admin", "project_form", "admin_budget_project"),
)


def setup_routes(app: web.Application) -> None:
    app[OUTCOMES] = OrderedDict()
    for methods, path, module, handler, name in ROUTES:
        resource = app.router.add_resource(path, name=name)
        target = lazy(f"node.components.budgets.{module}", handler)
        for method in methods:
            resource.add_route(method, target)
    # Public pages that are the same for every anonymous visitor.
    cache_routes(app, "budget", "budget_ballots", "budget_results")


def setup_api(app: web.Application) -> None:
    """The public JSON read API (node.components.budgets.api), imported on first use."""
    app.router.add_get("/api/spaces/{slug}/budgets", lazy("node.components.budgets.api", "list_budgets"),
                       name="api_budgets")
    app.router.add_get("/api/budgets/{budget_id}", lazy("node.components.budgets.api", "get_budget"),
                       name="api_budget")


def openapi() -> tuple[dict, dict]:
    from node.components.budgets.api import openapi as budgets_openapi

    return budgets_openapi()
