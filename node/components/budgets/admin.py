"""Administration of a budgets component: its budgets (made here or imported from a Pabulib
file), their projects and the review of each project's feasibility, the phases in which voting
is open and results are shown. Node administrators only (spaces have no administrators of
their own, docs/ARCHITECTURE.md)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from node.admin.components import load_component
from node.admin.forms import done_message, flat, form_values, int_param, redirect, translate_errors, translated
from node.admin.spaces import default_locale, load_space
from node.appkeys import DB, GETTEXT
from node.components.budgets import service
from node.components.budgets.models import Ballot, Budget, BudgetProject
from node.components.budgets.service import CURRENCIES, BudgetError
from node.components.budgets.settings import settings_of
from node.i18n import N_
from node.moderation.log import log_action
from node.spaces.service import space_phases, update_component
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render


async def _load(request: web.Request, db):
    space = await load_space(request, db)
    component = await load_component(request, db, space)
    if component.kind != "budgets":
        raise user_error(404, "This space has no such component.")
    return space, component


async def _budget(request: web.Request, db, component) -> Budget:
    budget = await db.scalar(select(Budget).where(Budget.id == int_param(request, "budget_id"),
                                                  Budget.component_id == component.id))
    if budget is None:
        raise user_error(404, "This budget does not exist.")
    return budget


async def _overview(request: web.Request, space, component, *, errors: dict | None = None, status: int = 200):
    async with request.app[DB]() as db:
        budgets = list((await db.scalars(select(Budget).where(Budget.component_id == component.id)
                                         .order_by(Budget.position, Budget.id))).all())
        counts = dict((await db.execute(
            select(Ballot.budget_id, func.count(Ballot.id)).where(
                Ballot.budget_id.in_([b.id for b in budgets]), Ballot.checked_out_at.is_not(None))
            .group_by(Ballot.budget_id))).all()) if budgets else {}
        phases = await space_phases(db, space.id)
    return render(request, "components/budgets/admin_budgets.html", {
        "space": space, "component": component, "budgets": budgets, "counts": counts, "phases": phases,
        "settings": settings_of(component), "errors": translate_errors(request, errors or {}),
        "done": done_message(request)}, status=status)


async def budgets_admin(request: web.Request) -> web.Response:
    """The component's budgets, and the phases of voting and results."""
    require_admin(request)
    async with request.app[DB]() as db:
        space, component = await _load(request, db)
    if request.method == "POST":
        form = await request.post()
        async with request.app[DB].begin() as db:
            phases = await space_phases(db, space.id)
            known = {p.id for p in phases}

            def chosen(name: str) -> list[int]:
                return sorted({int(v) for v in form.getall(name, []) if str(v).isdigit()} & known)

            row = await db.get(type(component), component.id)
            await update_component(db, row, {"settings": {"voting_phases": chosen("voting_phases"),
                                                          "results_phases": chosen("results_phases")}})
        raise redirect(request, "admin_budgets", "saved", space_id=space.id, component_id=component.id)
    return await _overview(request, space, component)


async def import_file(request: web.Request) -> web.Response:
    admin = require_admin(request)
    async with request.app[DB]() as db:
        space, component = await _load(request, db)
    upload = (await request.post()).get("file")
    if upload is None or not hasattr(upload, "file"):
        return await _overview(request, space, component, errors={"file": N_("Choose a .pb file to upload.")},
                               status=422)
    from node.components.budgets.exchange import import_pb

    data = upload.file.read()
    try:
        async with request.app[DB].begin() as db:
            budget = await import_pb(db, component, data, language=default_locale(request))
            await log_action(db, admin, "budget.imported", subject_type="budget", subject_id=budget.id,
                             data={"file": str(getattr(upload, "filename", ""))[:200]})
    except BudgetError as exc:
        return await _overview(request, space, component, errors=exc.errors, status=422)
    raise redirect(request, "admin_budget", "created", space_id=space.id, component_id=component.id,
                   budget_id=budget.id)


def _budget_values(budget: Budget | None) -> dict:
    if budget is None:
        return {"currency": "EUR"}
    return {**flat(budget.title, "title"), **flat(budget.description, "description"), "total": str(budget.total),
            "currency": budget.currency, "postal_codes": "\n".join(budget.postal_codes or [])}


async def budget_form(request: web.Request) -> web.Response:
    """A new budget (no budget_id in the URL), or a budget's settings with its projects."""
    require_admin(request)
    editing = "budget_id" in request.match_info
    async with request.app[DB]() as db:
        space, component = await _load(request, db)
        budget = await _budget(request, db, component) if editing else None
        projects = list((await service.projects_of(db, budget.id)).values()) if budget else []
    values, errors = _budget_values(budget), {}
    if request.method == "POST":
        form = await request.post()
        fields = {"title": translated(form, "title"), "description": translated(form, "description"),
                  **{k: form.get(k, "") for k in ("total", "currency", "postal_codes")}}
        try:
            async with request.app[DB].begin() as db:
                if budget is None:
                    budget = await service.create_budget(db, component, fields, language=default_locale(request))
                    done = "created"
                else:
                    await service.update_budget(db, await _budget(request, db, component), fields,
                                                language=default_locale(request))
                    done = "saved"
            raise redirect(request, "admin_budget", done, space_id=space.id, component_id=component.id,
                           budget_id=budget.id)
        except BudgetError as exc:
            values, errors = form_values(form), translate_errors(request, exc.errors)
    return render(request, "components/budgets/admin_budget_form.html", {
        "space": space, "component": component, "budget": budget, "projects": projects, "values": values,
        "errors": errors, "currencies": [(code, code) for code in CURRENCIES], "done": _done(request)}, status=422 if errors else 200)


def _done(request: web.Request) -> str | None:
    if request.query.get("done", "").startswith("imported-"):
        count = request.query["done"].removeprefix("imported-")
        return request[GETTEXT](N_("Accepted proposals made into projects: %(n)s.")) % {
            "n": int(count) if count.isdigit() else 0}
    return done_message(request)


async def import_proposals(request: web.Request) -> web.Response:
    admin = require_admin(request)
    async with request.app[DB].begin() as db:
        space, component = await _load(request, db)
        budget = await _budget(request, db, component)
        added = await service.import_accepted_proposals(db, budget)
        await log_action(db, admin, "budget.proposals_imported", subject_type="budget", subject_id=budget.id,
                         data={"projects": added})
    raise redirect(request, "admin_budget", f"imported-{added}", space_id=space.id, component_id=component.id,
                   budget_id=budget.id)


def _project_values(project: BudgetProject | None) -> dict:
    if project is None:
        return {"feasibility": "pending"}
    return {**flat(project.title, "title"), **flat(project.description, "description"), "cost": str(project.cost),
            "category": project.category, "address": project.address, "feasibility": project.feasibility,
            "feasibility_reason": project.feasibility_reason,
            "proposal_ids": " ".join(str(i) for i in project.proposal_ids or [])}


async def project_form(request: web.Request) -> web.Response:
    admin = require_admin(request)
    editing = "project_id" in request.match_info
    async with request.app[DB]() as db:
        space, component = await _load(request, db)
        budget = await _budget(request, db, component)
        project = None
        if editing:
            project = await db.scalar(select(BudgetProject).where(
                BudgetProject.id == int_param(request, "project_id"), BudgetProject.budget_id == budget.id))
            if project is None:
                raise user_error(404, "This project does not exist.")
    values, errors = _project_values(project), {}
    if request.method == "POST":
        form = await request.post()
        fields = {"title": translated(form, "title"), "description": translated(form, "description"),
                  **{k: form.get(k, "") for k in ("cost", "category", "address", "feasibility",
                                                  "feasibility_reason", "proposal_ids")}}
        try:
            async with request.app[DB].begin() as db:
                fresh_budget = await _budget(request, db, component)
                if project is None:
                    row = await service.create_project(db, fresh_budget, fields, language=default_locale(request))
                    before = None
                else:
                    row = await db.get(BudgetProject, project.id, with_for_update=True)
                    before = row.feasibility
                    await service.update_project(db, row, fresh_budget, fields, language=default_locale(request))
                if row.feasibility != before and row.feasibility != "pending":
                    await log_action(db, admin, f"budget.project_{row.feasibility}", subject_type="budget_project",
                                     subject_id=row.id, reason=row.feasibility_reason[:500])
            raise redirect(request, "admin_budget", "saved" if editing else "created", space_id=space.id,
                           component_id=component.id, budget_id=budget.id)
        except BudgetError as exc:
            values, errors = form_values(form), translate_errors(request, exc.errors)
    return render(request, "components/budgets/admin_project_form.html", {
        "space": space, "component": component, "budget": budget, "project": project, "values": values,
        "errors": errors}, status=422 if errors else 200)
