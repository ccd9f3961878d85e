"""Pages: a plain translatable text inside a space (rules of the process, FAQ, contact)."""
from node.components.registry import ComponentKind
from node.components.pages.views import setup_routes

KIND = ComponentKind(
    name="pages",
    label="Page",
    setup_routes=setup_routes,
    default_settings={"body": {}},
)
