"""The component registry: one line per participation capability.

A component is a package under node/components/ whose __init__ defines `KIND`, a
ComponentKind. Adding a component = adding its folder and its name to REGISTERED.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

REGISTERED = (
    "pages",
    "proposals",
    "debates",
    "sortitions",
    "budgets",
)


@dataclass(frozen=True)
class ComponentKind:
    name: str
    # English label, a gettext msgid translated when shown.
    label: str
    # Adds the component's routes to the app; called once at start-up.
    setup_routes: Callable
    # Initial settings of a new instance; admins edit them in the space's admin.
    default_settings: dict = field(default_factory=dict)
    # Module with the component's SQLAlchemy models, if it has any.
    models_module: str | None = None
    # `async (request, space, component) -> Response`: the component's page at
    # /spaces/<slug>/c/<id>; the spaces views have already checked the space and visibility.
    view: Callable | None = None
    # Template included in the admin's component form for the kind's own settings, and
    # `(form, settings) -> (new settings, errors keyed by form field)` to read it back.
    admin_template: str | None = None
    parse_settings: Callable | None = None
    # Adds the kind's public JSON read API routes under /api/ (see node.api).
    setup_api: Callable | None = None
    # `() -> (paths, schemas)`: the kind's part of the OpenAPI document at /api/openapi.json.
    openapi: Callable | None = None
    # Module that registers the kind's federation mapping (node.activitypub.publisher
    # register_publisher / node.activitypub.follows register_snapshot); imported at start-up.
    publish_module: str | None = None
    # What residents do in the component that node.permissions can restrict: (action name,
    # English gettext msgid naming it as an infinitive phrase, e.g. "support proposals").
    actions: tuple[tuple[str, str], ...] = ()


def kinds() -> dict[str, ComponentKind]:
    found = {}
    for name in REGISTERED:
        kind = importlib.import_module(f"node.components.{name}").KIND
        found[kind.name] = kind
    return found


def import_publish_modules() -> None:
    for kind in kinds().values():
        if kind.publish_module:
            importlib.import_module(kind.publish_module)


def import_component_models() -> None:
    for kind in kinds().values():
        if kind.models_module:
            importlib.import_module(kind.models_module)
