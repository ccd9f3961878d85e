"""The census upload: an administrator replaces the census with a CSV file, all or nothing."""
from __future__ import annotations

from aiohttp import web

from node.appkeys import DB, GETTEXT
from node.i18n import N_
from node.moderation.log import log_action
from node.verification import census
from node.verification.admin_views import done_message
from node.verification.keys import ensure_key
from node.web.context import require_admin
from node.web.render import render


async def _page(request, error=None, lines=(), status=200, counts=None):
    async with request.app[DB]() as db:
        meta = await census.census_meta(db)
    return render(request, "verification/admin_census.html", {
        "meta": meta, "error": error, "lines": lines, "columns": census.COLUMNS, "counts": counts,
        "done": done_message(request)}, status=status)


async def census_page(request: web.Request) -> web.Response:
    admin = require_admin(request)
    if request.method != "POST":
        return await _page(request)
    gettext = request[GETTEXT]
    upload = (await request.post()).get("census")
    if upload is None or not hasattr(upload, "file"):
        return await _page(request, gettext(N_("Choose a CSV file to upload.")), status=422)
    try:
        parsed = census.parse_census(upload.file.read())
    except census.CensusFileError as exc:
        lines = [gettext(N_("Line %(line)s: %(problem)s")) % {"line": line, "problem": gettext(problem)}
                 for line, problem in exc.lines]
        return await _page(request, gettext(exc.message) % exc.values, lines, status=422)
    await ensure_key(request.app[DB])
    async with request.app[DB].begin() as db:
        stored = await census.replace_census(db, parsed)
        await log_action(db, admin, "verification.census_upload", subject_type="census",
                   data={"residents": stored, "duplicates": parsed.duplicates,
                         "file": str(getattr(upload, "filename", ""))[:200]})
    return await _page(request, counts={"stored": stored, "duplicates": parsed.duplicates})
