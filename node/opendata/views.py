"""Open-data downloads: GET /spaces/{slug}/export.json and .zip (one published space), and
/export.json and /export.zip (every published space of the node). Public, like the API."""
from __future__ import annotations

import asyncio
import logging
from datetime import date

from aiohttp import web

from node.appkeys import DB, SETTINGS
from node.opendata.formats import write_csv_zip, write_json
from node.opendata.routes import EXPORT_SLOTS
from node.opendata.sources import load_scope
from node.web.csrf import csrf_exempt
from node.web.errors import user_error

log = logging.getLogger("civicnode.opendata")

FORMATS = {"json": ("application/json; charset=utf-8", write_json), "zip": ("application/zip", write_csv_zip)}


async def _export(request: web.Request, slug: str | None) -> web.StreamResponse:
    extension = request.match_info["ext"]
    content_type, write = FORMATS[extension]
    slots = request.app[EXPORT_SLOTS]
    if slots.locked():
        raise user_error(429, "Other open-data downloads are being prepared. Try again in a minute.",
                         headers={"Retry-After": "30"})
    async with slots:
        scope = await load_scope(request.app[DB], request.app[SETTINGS].base_url, slug)
        if scope is None:
            raise user_error(404, "No published space has this address.")
        filename = f"civicnode-{slug or 'node'}-{date.today().isoformat()}.{extension}"
        response = web.StreamResponse(headers={
            "Content-Type": content_type, "Content-Disposition": f'attachment; filename="{filename}"',
            "Access-Control-Allow-Origin": "*"})
        if extension == "json":
            response.enable_compression()  # a zip is compressed already
        await response.prepare(request)
        try:
            await write(request.app[DB], scope, response.write)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            log.exception("open-data export of %s failed midway", slug or "the node")
            # The status line is sent: cut the connection, so that the client sees a broken
            # download rather than a complete-looking file with an error page inside it.
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response


@csrf_exempt
async def space_export(request: web.Request) -> web.StreamResponse:
    return await _export(request, request.match_info["slug"])


@csrf_exempt
async def node_export(request: web.Request) -> web.StreamResponse:
    return await _export(request, None)
