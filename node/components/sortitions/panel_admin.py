"""Selecting a citizens' panel in the admin: the two CSV files are uploaded, the selection
(node.components.sortitions.panel) runs in a worker thread so the node keeps answering, and the
result is kept without the respondents' file: ids, probabilities and the quota table's counts.

One selection runs at a time per process, in its own thread: LEXIMIN uses a whole core for
seconds to minutes, and queued selections must not hold the threads of the loop's default
executor (name resolution uses them).
"""
from __future__ import annotations

import asyncio
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from node.admin.forms import translate_errors
from node.appkeys import DB
from node.components.sortitions.admin import load_sortitions
from node.components.sortitions.models import PanelSelection
from node.i18n import N_
from node.moderation.log import log_action
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

ALGORITHMS = ("leximin", "legacy")
MAX_SIZE = 10_000
# The chart shows this many groups of respondents with the same features, lowest probability first.
CHART_GROUPS = 60
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="civicnode-panel")


class FormError(Exception):
    def __init__(self, errors: dict, detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(errors))
        self.errors, self.detail = errors, detail


def _file_name(upload, default: str) -> str:
    # The selection's messages name the file ("respondents.csv line 7: ..."): keep the name the
    # admin knows, reduced to harmless characters.
    name = Path(str(getattr(upload, "filename", "") or "")).name
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80].lstrip(".")
    return name or default


def _read_upload(form, field: str, default: str, errors: dict) -> tuple[str, bytes] | None:
    upload = form.get(field)
    if upload is None or not hasattr(upload, "file"):
        errors[field] = N_("Choose a CSV file to upload.")
        return None
    data = upload.file.read()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors[field] = N_("This file is not text in UTF-8: save it from the spreadsheet as “CSV UTF-8”.")
        return None
    if not data.strip():
        errors[field] = N_("This file is empty.")
        return None
    return _file_name(upload, default), data


def read_form(form) -> dict:
    errors: dict = {}
    categories = _read_upload(form, "categories", "categories.csv", errors)
    respondents = _read_upload(form, "respondents", "respondents.csv", errors)
    try:
        size = int(str(form.get("size", "")).strip())
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_SIZE:
        errors["size"] = (N_("Enter a whole number from 1 to %(max)s."), {"max": MAX_SIZE})
    algorithm = str(form.get("algorithm", ""))
    if algorithm not in ALGORITHMS:
        errors["algorithm"] = N_("Choose one of the algorithms offered.")
    seed = str(form.get("seed", "")).strip()
    if len(seed) > 500:
        errors["seed"] = (N_("Use at most %(n)s characters."), {"n": 500})
    if errors:
        raise FormError(errors)
    return {"categories": categories, "respondents": respondents, "size": size, "algorithm": algorithm,
            "seed": seed or None}


def compute(fields: dict) -> dict:
    """The selection and its report, in a worker thread; the files exist only meanwhile."""
    from node.components.sortitions.panel import PanelError, select_panel
    from node.components.sortitions.pool import read_pool

    with tempfile.TemporaryDirectory(prefix="civicnode-panel-") as tmp:
        paths = []
        for key in ("categories", "respondents"):
            name, data = fields[key]
            folder = Path(tmp) / key
            folder.mkdir()
            (folder / name).write_bytes(data)
            paths.append(folder / name)
        try:
            result = select_panel(paths[0], paths[1], fields["size"], algorithm=fields["algorithm"],
                                  seed=fields["seed"])
            pool = read_pool(paths[0], paths[1])
        except PanelError as exc:
            raise FormError({}, str(exc)) from None
    return report(pool, result)


def report(pool, result: dict) -> dict:
    """What is kept and shown: the ids drawn, every probability, counts per quota and per group
    of respondents sharing their features (no id is tied to features here)."""
    index = {str(ident): i for i, ident in enumerate(pool.ids)}
    profile_of = {}
    for t, members in enumerate(pool.members):
        for i in members:
            profile_of[i] = t
    chosen = [profile_of[index[str(ident)]] for ident in result["panel"]]
    quotas = []
    for f, quota in enumerate(pool.quotas):
        quotas.append({"category": quota.category, "feature": quota.feature, "min": quota.min, "max": quota.max,
                       "pool": sum(len(m) for t, m in enumerate(pool.members) if f in pool.profiles[t]),
                       "panel": sum(1 for t in chosen if f in pool.profiles[t])})
    groups = []
    for t, (profile, members) in enumerate(zip(pool.profiles, pool.members)):
        groups.append({"features": [pool.describe(f) for f in profile], "respondents": len(members),
                       "probability": result["probabilities"][str(pool.ids[members[0]])],
                       "panel": chosen.count(t)})
    groups.sort(key=lambda g: (g["probability"], g["features"]))
    kept = {key: result[key] for key in ("algorithm", "seed", "size", "pool", "panel", "probabilities",
                                         "min_probability")}
    if "runs" in result:
        kept["runs"] = result["runs"]
    return {**kept, "quotas": quotas, "groups": groups}


def public_document(selection: PanelSelection) -> dict:
    """The downloadable JSON: ids, probabilities and the quota table, no respondent's features."""
    result = selection.result
    document = {key: result[key] for key in ("algorithm", "seed", "size", "pool", "panel", "probabilities",
                                             "min_probability", "quotas")}
    if "runs" in result:
        document["runs"] = result["runs"]
    return document


async def panels_admin(request: web.Request) -> web.Response:
    user = require_admin(request)
    async with request.app[DB]() as db:
        space, component = await load_sortitions(request, db)
        history = (await db.scalars(select(PanelSelection).where(PanelSelection.component_id == component.id)
                                    .order_by(PanelSelection.id.desc()).limit(20))).all()
    values, errors, detail = {"algorithm": "leximin"}, {}, None
    if request.method == "POST":
        form = await request.post()
        values = {key: str(form.get(key, "")) for key in ("size", "algorithm", "seed")}
        try:
            fields = read_form(form)
            # Seconds to minutes of solver time: off the event loop, which keeps serving.
            result = await asyncio.get_running_loop().run_in_executor(_EXECUTOR, compute, fields)
        except FormError as exc:
            errors, detail = exc.errors, exc.detail
        else:
            async with request.app[DB].begin() as db:
                selection = PanelSelection(component_id=component.id, created_by=user.id, result=result,
                                           **{key: result[key] for key in ("algorithm", "seed", "size", "pool",
                                                                           "min_probability")})
                db.add(selection)
                await db.flush()
                await log_action(db, user, "sortition.panel_selected", subject_type="sortition_panel",
                                 subject_id=selection.id,
                                 data={"algorithm": selection.algorithm, "size": selection.size,
                                       "pool": selection.pool, "seed": selection.seed})
            raise web.HTTPSeeOther(request.app.router["admin_sortition_panel"].url_for(
                space_id=str(space.id), component_id=str(component.id), panel_id=str(selection.id)))
    return render(request, "components/sortitions/admin_panels.html", {
        "space": space, "component": component, "history": history, "values": values,
        "errors": translate_errors(request, errors),
        "detail": detail, "algorithms": ALGORITHMS}, status=422 if errors or detail else 200)


async def _selection(request: web.Request):
    require_admin(request)
    async with request.app[DB]() as db:
        space, component = await load_sortitions(request, db)
        selection = await db.scalar(select(PanelSelection).where(
            PanelSelection.id == int(request.match_info["panel_id"]), PanelSelection.component_id == component.id))
    if selection is None:
        raise user_error(404, "This panel selection does not exist.")
    return space, component, selection


async def panel_result(request: web.Request) -> web.Response:
    space, component, selection = await _selection(request)
    result = selection.result
    groups = result["groups"]
    return render(request, "components/sortitions/admin_panel.html", {
        "space": space, "component": component, "selection": selection, "result": result,
        "chart": groups[:CHART_GROUPS], "hidden_groups": max(0, len(groups) - CHART_GROUPS),
        "uniform": selection.size / selection.pool if selection.pool else 0})


async def panel_json(request: web.Request) -> web.Response:
    _space, _component, selection = await _selection(request)
    response = web.json_response(public_document(selection))
    response.headers["Content-Disposition"] = f'attachment; filename="panel-{selection.id}.json"'
    return response
