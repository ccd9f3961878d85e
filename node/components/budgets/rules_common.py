"""What every outcome rule shares: the result types, the reason codes, the points of each
ballot and the scores (rules.py is the public entry point and says how points are counted)."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from fractions import Fraction

from node.components.budgets.pabulib import Election

RULES = ("greedy", "greedy-no-skip", "greedy-threshold", "equalshares", "equalshares/add1",
         "equalshares/add1-comparison")

# Reasons, for ProjectResult.reason.
SELECTED = "selected"
DOES_NOT_FIT = "does-not-fit"            # greedy: cost above the money left when its turn came
AFTER_STOP = "after-stop"                # greedy-no-skip: an earlier project did not fit
BELOW_THRESHOLD = "below-threshold"      # greedy-threshold: score under min_project_score_threshold
NO_SUPPORT = "no-support"                # MES: nobody supports it
UNAFFORDABLE = "unaffordable"            # MES: its supporters' money left was below its cost


class RuleError(ValueError):
    """A rule that does not exist or does not apply to this election."""


@dataclass
class ProjectResult:
    project_id: str
    cost: Fraction
    score: Fraction
    selected: bool = False
    reason: str = ""
    # 1-based rank in the order of selection.
    position: int | None = None
    # Greedy rules: the money left when the project's turn came.
    budget_left: Fraction | None = None
    # MES: the price per unit of utility its supporters paid (for approval ballots, where a
    # supporter's utility is the cost, 1/price is equalshares.net's "effective vote count"),
    # and what each supporter paid (voter id -> amount, 0 if they had nothing left): equal
    # shares of price × utility, except for supporters who could not pay a full share.
    price: Fraction | None = None
    payments: dict[str, Fraction] = field(default_factory=dict)
    # MES, not selected: the money its supporters had left when it was found unaffordable.
    supporters_money: Fraction | None = None


@dataclass
class Outcome:
    rule: str
    budget: Fraction
    selected: list[str]  # in the order of selection
    projects: dict[str, ProjectResult]  # every project, in file order
    # MES: "voter_budget" (per voter, after completion), "runs" (of MES, for add1); comparison
    # step: "prefer_mes", "prefer_greedy" (voter counts), "kept" ("equalshares/add1" or
    # "greedy"), "mes_selected", "greedy_selected"; greedy-threshold: "threshold".
    details: dict = field(default_factory=dict)

    @property
    def total_cost(self) -> Fraction:
        return sum((self.projects[p].cost for p in self.selected), Fraction(0))


_ONE = Fraction(1)


def _points(vote_type: str, projects: tuple, points: tuple | None) -> dict[str, Fraction]:
    if vote_type in ("approval", "choose-1"):
        return dict.fromkeys(projects, _ONE)
    if vote_type == "ordinal":
        size = len(projects)
        return {project: Fraction(size - rank) for rank, project in enumerate(projects)}
    return {p: value for p, value in zip(projects, points or ()) if value}


def utilities(election: Election) -> list[dict[str, Fraction]]:
    """Per ballot: project -> points given (see rules.py's docstring), zeros left out."""
    vote_type = election.vote_type
    return [_points(vote_type, vote.projects, vote.points) for vote in election.votes]


def ballot_groups(election: Election) -> list[tuple[dict[str, Fraction], list[str]]]:
    """The ballots grouped by what they give each project: (project -> points, the voter ids
    in file order), groups in the order of their first ballot.

    Ballots are first grouped by their text as read, and the points are computed once per
    distinct ballot."""
    vote_type = election.vote_type
    votes = election.votes
    with_points = vote_type not in ("approval", "choose-1", "ordinal")
    # The only loop over every voter: one dictionary lookup each.
    raw: dict[tuple, list[str]] = {}
    for vote in votes:
        key = (vote.projects, vote.points) if with_points else vote.projects
        voter_ids = raw.get(key)
        if voter_ids is None:
            raw[key] = [vote.voter_id]
        else:
            voter_ids.append(vote.voter_id)
    merged: dict[tuple, tuple[dict[str, Fraction], list[tuple]]] = {}
    for key in raw:
        projects, points = key if with_points else (key, None)
        given = _points(vote_type, projects, points)
        canonical = tuple(sorted(given.items()))  # "a,b" and "b,a" approve alike
        if canonical in merged:
            merged[canonical][1].append(key)
        else:
            merged[canonical] = (given, [key])
    groups = []
    for given, written in merged.values():
        if len(written) == 1:
            groups.append((given, raw[written[0]]))
        else:  # rare: the same ballot written differently; keep the voters in file order
            wanted = set(written)
            groups.append((given, [vote.voter_id for vote in votes
                                   if ((vote.projects, vote.points) if with_points else vote.projects) in wanted]))
    return groups


def scores(election: Election, groups: list | None = None) -> dict[str, Fraction]:
    """Each project's points from all ballots; `groups`: ballot_groups(election), if known."""
    # Whole points (all but some cumulative ballots) are added as ints: Fraction arithmetic
    # costs microseconds per operation, and there is one per distinct ballot and project.
    whole = dict.fromkeys(election.projects, 0)
    parts: dict[str, Fraction] = {}
    for given, voter_ids in groups if groups is not None else ballot_groups(election):
        voters = len(voter_ids)
        for project, value in given.items():
            if value.denominator == 1:
                whole[project] += value.numerator * voters
            else:
                parts[project] = parts.get(project, 0) + value * voters
    return {p: Fraction(total) + parts[p] if p in parts else Fraction(total) for p, total in whole.items()}


@functools.lru_cache(maxsize=4096)
def natural_key(project_id: str) -> tuple:
    """Identifiers compared as text with their numbers compared by value: "9" before "10"."""
    parts = re.split(r"([0-9]+)", project_id)
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts)), project_id


def project_results(election: Election, score: dict[str, Fraction]) -> dict[str, ProjectResult]:
    return {p.id: ProjectResult(p.id, p.cost, score[p.id]) for p in election.projects.values()}
