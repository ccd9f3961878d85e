"""Page parameters of list endpoints, validated with a message a client developer can act on."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from node.web.errors import user_error

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PageRequest:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def envelope(self, items: list, total: int) -> dict:
        return {"items": items, "page": self.page, "per_page": self.per_page, "total": total}


def page_request(request: web.Request, default_per_page: int = 50) -> PageRequest:
    try:
        page = int(request.query.get("page", "1"))
        per_page = int(request.query.get("per_page", str(default_per_page)))
    except ValueError:
        raise user_error(400, "page and per_page must be whole numbers.") from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise user_error(400, "page must be 1 or more and per_page between 1 and 100.")
    return PageRequest(page, per_page)


PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50}},
]


def page_schema(item_ref: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
        },
    }
