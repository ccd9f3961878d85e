"""Public JSON read API under /api/, described by the OpenAPI document at /api/openapi.json.

Conventions every endpoint follows (components included):
- read-only, no authentication, CORS-open, so that anyone can build on public data;
- translatable fields are objects {"fr": ..., "en": ..., "es": ..., "ca": ...};
- lists are paginated: `?page=1&per_page=50` (max 100) -> {"items", "page", "per_page", "total"};
- errors are JSON {"error", "message", "status"} (node.web.errors);
- nothing hidden by a visibility policy or moderation appears, in any field or sort order.
"""
from node.api.views import setup_routes

__all__ = ["setup_routes"]
