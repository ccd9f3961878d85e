"""Administration of budgets: budgets and projects with their validation, the feasibility review,
accepted proposals made into projects, the phases of voting and results, the component's
settings, and who may open these pages."""
from __future__ import annotations

from sqlalchemy import select, update

from node.appkeys import DB
from node.components.budgets.models import Budget, BudgetProject
from node.components.proposals.models import Proposal
from node.moderation.models import AdminAction
from node.spaces.models import Component
from node.spaces.service import add_component
from tests.budgets_support import budgets_component, count_budgets, make_budget, make_project
from tests.proposals_fixtures import make_proposal
from tests.spaces_support import count, log_in, make_user


def admin_path(space, component, suffix: str = "") -> str:
    return f"/admin/spaces/{space.id}/components/{component.id}/budgets{suffix}"


async def test_budgets_are_created_and_edited_with_their_rules(web, app):
    space, component, _ = await budgets_component(app)
    await log_in(web, app, "alice_admin", role="admin")
    settings_page = await web.get(f"/admin/spaces/{space.id}/components/{component.id}")
    assert 'name="ballot_kind"' in settings_page.text and admin_path(space, component) in settings_page.text
    new = admin_path(space, component, "/new")
    form = {"title.en": "Old town", "title.fr": "Vieille ville", "total": "250 000,50", "currency": "EUR",
            "postal_codes": "08001\n08002, 08001"}
    for bad, message in (({"title.en": "", "title.fr": ""}, "Enter the budget&#39;s title"),
                         ({"total": "a lot"}, "Enter an amount such as 12000"),
                         ({"total": "0"}, "Enter an amount above 0."),
                         ({"total": "10.123"}, "Use at most two decimals."),
                         ({"currency": "XYZ"}, "Choose one of the currencies offered.")):
        refused = await web.post(new, {**form, **bad}, csrf_from_path=new)
        assert refused.status == 422 and message in refused.text, bad
    assert await count_budgets(app) == 0
    created = await web.post(new, form, csrf_from_path=new)
    assert created.status == 200 and "Created." in created.text
    async with app[DB]() as db:
        budget = await db.scalar(select(Budget))
    assert (str(budget.total), budget.postal_codes, budget.title) == (
        "250000.5", ["08001", "08002"], {"en": "Old town", "fr": "Vieille ville"})
    edit = admin_path(space, component, f"/{budget.id}")
    saved = await web.post(edit, {**form, "total": "300000", "postal_codes": ""}, csrf_from_path=edit)
    assert "Your changes were saved." in saved.text
    async with app[DB]() as db:
        budget = await db.get(Budget, budget.id)
    assert (budget.total, budget.postal_codes) == (300000, [])


async def test_projects_and_their_feasibility_review(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component)
    admin = await log_in(web, app, "alice_admin", role="admin")
    new = admin_path(space, component, f"/{budget.id}/projects/new")
    form = {"title.en": "Skate park", "cost": "45000", "category": "Sport", "address": "Parc du Nord",
            "feasibility": "unfeasible", "feasibility_reason": "", "proposal_ids": ""}
    no_reason = await web.post(new, form, csrf_from_path=new)
    assert no_reason.status == 422 and "Say why the project is unfeasible" in no_reason.text
    unknown = await web.post(new, {**form, "feasibility": "pending", "proposal_ids": "4242"}, csrf_from_path=new)
    assert unknown.status == 422 and "This space has no proposal numbered 4242." in unknown.text
    assert await count(app, BudgetProject) == 0
    created = await web.post(new, {**form, "feasibility_reason": "The land is not the town's."}, csrf_from_path=new)
    assert created.status == 200 and "Skate park" in created.text
    async with app[DB]() as db:
        project = await db.scalar(select(BudgetProject))
    assert (project.cost, project.feasibility, project.category) == (45000, "unfeasible", "Sport")
    assert await count(app, AdminAction, AdminAction.action == "budget.project_unfeasible",
                       AdminAction.actor_id == admin.id) == 1
    public = await web.get(f"/spaces/{space.slug}/c/{component.id}/budgets/{budget.id}")
    assert "The land is not the town&#39;s." in public.text and "Unfeasible" in public.text
    edit = admin_path(space, component, f"/{budget.id}/projects/{project.id}")
    await web.post(edit, {**form, "feasibility": "feasible"}, csrf_from_path=edit)
    async with app[DB]() as db:
        assert (await db.get(BudgetProject, project.id)).feasibility == "feasible"


async def test_accepted_proposals_become_projects_once(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component)
    async with app[DB].begin() as db:
        proposals = await add_component(db, space, "proposals", {"name": {"en": "Proposals"}})
    author = await make_user(app, "amelie")
    accepted = await make_proposal(app, space, proposals, author, title="Plant trees on the market square",
                                   category="Green", address="Place du Marché")
    await make_proposal(app, space, proposals, author, title="Paint the town hall pink")
    async with app[DB].begin() as db:
        await db.execute(update(Proposal).where(Proposal.id == accepted.id).values(state="accepted"))
    await log_in(web, app, "alice_admin", role="admin")
    page_path = admin_path(space, component, f"/{budget.id}")
    done = await web.post(page_path + "/import-proposals", {}, csrf_from_path=page_path)
    assert done.status == 200 and "Accepted proposals made into projects: 1." in done.text
    again = await web.post(page_path + "/import-proposals", {}, csrf_from_path=page_path)
    assert "Accepted proposals made into projects: 0." in again.text
    async with app[DB]() as db:
        [project] = (await db.scalars(select(BudgetProject))).all()
    assert (project.proposal_ids, project.feasibility, project.cost, project.category) == (
        [accepted.id], "pending", 0, "Green")
    public = await web.get(f"/spaces/{space.slug}/c/{component.id}/budgets/{budget.id}")
    assert f'href="/spaces/{space.slug}/proposals/{accepted.id}"' in public.text


async def test_phases_and_settings_of_the_component(web, app):
    space, component, phases = await budgets_component(app, phases=3)
    await log_in(web, app, "alice_admin", role="admin")
    path = admin_path(space, component)
    saved = await web.post(path, {"voting_phases": str(phases[1].id), "results_phases": [str(phases[2].id)]},
                           csrf_from_path=path)
    assert saved.status == 200 and "Your changes were saved." in saved.text
    edit = f"/admin/spaces/{space.id}/components/{component.id}"
    base = {"name.en": "Budgets", "ballot_kind": "cumulative", "points": "0", "min_projects": "0",
            "max_projects": "0", "rule": "greedy", "voting_enabled": "1"}
    refused = await web.post(edit, base, csrf_from_path=edit)
    assert refused.status == 422 and "Give each voter at least 1 point." in refused.text
    refused = await web.post(edit, {**base, "ballot_kind": "project_count", "min_projects": "4", "max_projects": "2"},
                             csrf_from_path=edit)
    assert refused.status == 422 and "The minimum number of projects cannot be above the maximum." in refused.text
    refused = await web.post(edit, {**base, "points": "5", "rule": "dictator"}, csrf_from_path=edit)
    assert refused.status == 422
    ok = await web.post(edit, {**base, "points": "5", "rule": "equalshares/add1"}, csrf_from_path=edit)
    assert ok.status == 200
    async with app[DB]() as db:
        settings = (await db.get(Component, component.id)).settings
    assert (settings["ballot_kind"], settings["points"], settings["rule"]) == ("cumulative", 5, "equalshares/add1")
    assert (settings["voting_phases"], settings["results_phases"]) == ([phases[1].id], [phases[2].id])


async def test_only_administrators_manage_budgets(web, app):
    space, component, _ = await budgets_component(app)
    budget = await make_budget(app, component)
    project = await make_project(app, budget, "Trees", "10")
    await log_in(web, app, "amelie")
    for path in (admin_path(space, component), admin_path(space, component, "/new"),
                 admin_path(space, component, f"/{budget.id}"),
                 admin_path(space, component, f"/{budget.id}/projects/{project.id}")):
        assert (await web.get(path)).status == 403, path
    refused = await web.post(admin_path(space, component, "/new"), {"title.en": "Mine", "total": "1", "currency": "EUR"},
                             csrf_from_path="/")
    assert refused.status == 403 and await count_budgets(app) == 1
