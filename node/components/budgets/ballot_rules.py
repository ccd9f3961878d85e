"""What a ballot must respect, checked the same way for the basket, the checkout and ballots
from partner nodes (node.components.budgets.service), and the error every budget rule raises."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from node.components.budgets.models import Budget
from node.i18n import N_


class BudgetError(Exception):
    """A refused action. `errors` maps form fields to gettext msgids (or (msgid, values)); the key
    "_" holds a message about the whole action. `status` is the HTTP status to answer."""

    def __init__(self, errors: dict, status: int = 422) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status

    @property
    def message(self):
        return self.errors.get("_") or next(iter(self.errors.values()))


def refuse(message, status: int) -> BudgetError:
    return BudgetError({"_": message}, status)


@dataclass(frozen=True)
class Rules:
    """What a ballot of a budget must respect (from the component's settings)."""

    kind: str
    total: Decimal
    min_projects: int
    max_projects: int
    points: int

    @classmethod
    def of(cls, settings: dict, budget: Budget) -> "Rules":
        return cls(settings["ballot_kind"], Decimal(budget.total), int(settings["min_projects"]),
                   int(settings["max_projects"]), int(settings["points"]))


def cost_of(choices: dict, projects: dict) -> Decimal:
    return sum((Decimal(projects[p].cost) for p in choices), Decimal(0))


def check_choices(rules: Rules, projects: dict, choices: dict, *, final: bool) -> None:
    """`choices`: project id -> points (None except for cumulative ballots). `projects`: the
    budget's projects by id. `final`: the checkout (minimums apply), not a change of basket."""
    for project_id, points in choices.items():
        project = projects.get(project_id)
        if project is None:
            raise refuse(N_("This project is not in this budget. Reload the page and try again."), 422)
        if project.feasibility == "unfeasible":
            raise refuse(N_("This project was found unfeasible: it is not on the ballot."), 422)
        if rules.kind == "cumulative":
            if points is None or points < 1 or points != int(points):
                raise refuse(N_("Give each project in your basket a whole number of points, 1 or more."), 422)
        elif points is not None:
            raise refuse(N_("This ballot gives no points: choose projects only."), 422)
    count = len(choices)
    if final and count == 0:
        raise refuse(N_("Your basket is empty: add at least one project before casting your ballot."), 422)
    if rules.kind == "choose_one" and count > 1:
        raise refuse(N_("Choose one project only."), 422)
    if rules.kind == "cumulative":
        given = sum(int(p) for p in choices.values())
        if given > rules.points:
            raise refuse((N_("You can give %(n)s points in all; your basket gives %(given)s."),
                          {"n": rules.points, "given": given}), 422)
        return
    if rules.kind == "budget_cap" and cost_of(choices, projects) > rules.total:
        raise refuse(N_("Your basket costs more than the budget: remove a project to make room."), 422)
    if rules.kind in ("budget_cap", "project_count"):
        if rules.max_projects and count > rules.max_projects:
            raise refuse((N_("You can choose at most %(n)s projects."), {"n": rules.max_projects}), 422)
        if final and rules.min_projects and count < rules.min_projects:
            raise refuse((N_("Choose at least %(n)s projects before casting your ballot."),
                          {"n": rules.min_projects}), 422)
