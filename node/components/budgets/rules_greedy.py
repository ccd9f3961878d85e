"""Greedy outcome rules: `greedy`, `greedy-no-skip` and `greedy-threshold` (see rules.py)."""
from __future__ import annotations

from fractions import Fraction

from node.components.budgets.pabulib import Election
from node.components.budgets.rules_common import (AFTER_STOP, BELOW_THRESHOLD, DOES_NOT_FIT, SELECTED, Outcome,
                                                  natural_key, project_results, scores)


def greedy(election: Election, *, skip: bool = True, threshold: Fraction | None = None,
           rule: str | None = None, score: dict[str, Fraction] | None = None) -> Outcome:
    """Projects by decreasing score (ties: lower cost, then project id), each selected if it fits.
    `score`: scores(election), if already computed."""
    score = score if score is not None else scores(election)
    results = project_results(election, score)
    order = sorted(election.projects.values(),
                   key=lambda p: (-score[p.id], p.cost, natural_key(p.id)))
    left = election.budget
    selected: list[str] = []
    stopped = False
    for project in order:
        result = results[project.id]
        result.budget_left = left
        if threshold is not None and score[project.id] < threshold:
            result.reason = BELOW_THRESHOLD
        elif stopped:
            result.reason = AFTER_STOP
        elif project.cost <= left:
            left -= project.cost
            selected.append(project.id)
            result.selected, result.reason, result.position = True, SELECTED, len(selected)
        else:
            result.reason = DOES_NOT_FIT
            stopped = not skip
    if rule is None:
        rule = "greedy-threshold" if threshold is not None else "greedy" if skip else "greedy-no-skip"
    details = {} if threshold is None else {"threshold": threshold}
    return Outcome(rule, election.budget, selected, results, details)
