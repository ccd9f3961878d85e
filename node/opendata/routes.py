"""The open-data routes; their handlers (node.opendata.views, with the CSV and JSON writers) are
imported by the first download, not at start-up (node.web.lazy)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from node.web.csrf import csrf_exempt
from node.web.lazy import lazy

# An export reads every row of a space; two at a time per process keeps a small node
# answering its residents while bots fetch the files.
CONCURRENT_EXPORTS = 2
EXPORT_SLOTS = web.AppKey("opendata_export_slots", asyncio.Semaphore)


def setup_routes(app: web.Application) -> None:
    app[EXPORT_SLOTS] = asyncio.Semaphore(CONCURRENT_EXPORTS)
    # No HEAD: it would compute the whole export to send nothing.
    for path, name in (("/spaces/{slug}/export.{ext:json|zip}", "space_export"),
                       ("/export.{ext:json|zip}", "node_export")):
        app.router.add_get(path, csrf_exempt(lazy("node.opendata.views", name)), name=name, allow_head=False)
