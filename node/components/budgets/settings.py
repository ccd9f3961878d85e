"""Per-component settings of budgets, the admin form parser, and the two policies the pages ask
about: may residents vote now, and may this visitor see the results (and the ballots)."""
from __future__ import annotations

from node.i18n import N_

# approval within the budget, approval of min..max projects, N points to share, one project.
BALLOT_KINDS = ("budget_cap", "project_count", "cumulative", "choose_one")
# Pabulib's names (node.components.budgets.rules).
OUTCOME_RULES = ("greedy", "equalshares/add1", "equalshares/add1-comparison")
# The Pabulib vote_type of each ballot kind.
VOTE_TYPES = {"budget_cap": "approval", "project_count": "approval", "cumulative": "cumulative",
              "choose_one": "choose-1"}

DEFAULT_SETTINGS = {
    "ballot_kind": "budget_cap",
    "min_projects": 0,
    "max_projects": 0,
    "points": 10,
    "rule": "greedy",
    # Admins close voting by hand when the space has no phases.
    "voting_enabled": True,
    # Phase ids in which voting is open; empty means every phase (and spaces without phases).
    "voting_phases": [],
    # Phase ids in which the results are shown (voting must be closed then).
    "results_phases": [],
}
INT_LIMITS = {"min_projects": 1000, "max_projects": 1000, "points": 1_000_000}


def settings_of(component) -> dict:
    return {**DEFAULT_SETTINGS, **(component.settings or {})}


def voting_open(settings: dict, active_phase_id: int | None) -> bool:
    if not settings["voting_enabled"]:
        return False
    phases = settings["voting_phases"]
    return not phases or active_phase_id in phases


def voting_ended(settings: dict, phases: list, active_phase_id: int | None) -> bool:
    """Whether the voting phases are over: the active phase comes after every voting phase.
    Without voting phases, voting ends when an administrator closes it."""
    if voting_open(settings, active_phase_id):
        return False
    chosen = [p.position for p in phases if p.id in settings["voting_phases"]]
    if not chosen:
        return not settings["voting_enabled"]
    active = next((p for p in phases if p.id == active_phase_id), None)
    return active is not None and active.position > max(chosen)


def results_visible(settings: dict, phases: list, active_phase_id: int | None) -> bool:
    """Results (and the ballots they come from) are public in a results phase or once voting has
    ended, never while people vote: a running tally changes how they vote."""
    if voting_open(settings, active_phase_id):
        return False
    return active_phase_id in settings["results_phases"] or voting_ended(settings, phases, active_phase_id)


def parse_settings(form, settings: dict) -> tuple[dict, dict]:
    errors: dict = {}
    new: dict = {"voting_enabled": form.get("voting_enabled") == "1"}
    kind = form.get("ballot_kind", "budget_cap")
    if kind not in BALLOT_KINDS:
        errors["ballot_kind"] = N_("Choose one of the options offered.")
    new["ballot_kind"] = kind
    rule = form.get("rule", "greedy")
    if rule not in OUTCOME_RULES:
        errors["rule"] = N_("Choose one of the options offered.")
    new["rule"] = rule
    for name, limit in INT_LIMITS.items():
        raw = str(form.get(name, "") or "0").strip()
        try:
            value = int(raw)
        except ValueError:
            errors[name] = N_("Enter a whole number.")
            continue
        if not 0 <= value <= limit:
            errors[name] = (N_("Enter a number between 0 and %(n)s."), {"n": limit})
        new[name] = value
    if new.get("max_projects") and new.get("min_projects", 0) > new["max_projects"]:
        errors["min_projects"] = N_("The minimum number of projects cannot be above the maximum.")
    if kind == "cumulative" and new.get("points") == 0:
        errors["points"] = N_("Give each voter at least 1 point.")
    # Phases are chosen on the budgets admin page, which lists the space's phases.
    new["voting_phases"] = list(settings.get("voting_phases") or [])
    new["results_phases"] = list(settings.get("results_phases") or [])
    return new, errors
