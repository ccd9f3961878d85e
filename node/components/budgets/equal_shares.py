"""The Method of Equal Shares (`equalshares`), its add1 completion (`equalshares/add1`) and the
comparison step of Wieliczka 2023 (`equalshares/add1-comparison`); see rules.py and
docs/ARCHITECTURE.md, "Participatory budgeting rules". One run of MES is equal_shares_run.py."""
from __future__ import annotations

import math
from fractions import Fraction

from node.components.budgets.equal_shares_run import _MESRun, _Run, _constant
from node.components.budgets.pabulib import Election
from node.components.budgets.rules_common import Outcome, RuleError, ballot_groups, natural_key, scores
from node.components.budgets.rules_greedy import greedy


def equal_shares(election: Election, completion: str | None = "add1", *, groups: list | None = None) -> Outcome:
    """The Method of Equal Shares; `completion="add1"` raises the voters' budget 1 unit at a time.

    add1, as pabutools computes it (`method_of_equal_shares(..., voter_budget_increment=1)`):
    each voter starts with budget/n; while the outcome is not exhaustive (some supported project
    still fits in the money left), run again with one more currency unit per voter, and stop at
    the last outcome that stays within the budget. `groups`: ballot_groups(election), if known.
    """
    mes = _EqualShares(election, groups)
    if completion == "add1" and mes.voters:
        per_voter, run, runs = mes.add1()
    else:
        per_voter, run, runs = mes.start, mes.run(mes.start), 1
    rule = "equalshares/add1" if completion == "add1" else "equalshares"
    explained = mes.run(per_voter, explain=True)
    assert explained.selected == run.selected
    return Outcome(rule, mes.budget, explained.selected, explained.results,
                   {"voter_budget": per_voter, "runs": runs})


def equal_shares_with_comparison(election: Election, mes: Outcome | None = None) -> Outcome:
    """add1, then the comparison step of Wieliczka 2023 (as pabutools' popularity_comparison).

    Each voter compares the two outcomes by the number of projects they support in each; if more
    voters prefer the greedy outcome than prefer the MES one, the greedy outcome is kept
    (a draw keeps MES). `mes`: the add1 outcome, if already computed.
    """
    groups = ballot_groups(election)
    mes = mes or equal_shares(election, groups=groups)
    plain = greedy(election, score=scores(election, groups))
    prefer_mes = prefer_greedy = 0
    mes_set, greedy_set = set(mes.selected), set(plain.selected)
    for points, voter_ids in groups:
        in_mes = len(mes_set.intersection(points))
        in_greedy = len(greedy_set.intersection(points))
        prefer_mes += len(voter_ids) * (in_mes > in_greedy)
        prefer_greedy += len(voter_ids) * (in_greedy > in_mes)
    kept = plain if prefer_greedy > prefer_mes else mes
    details = dict(mes.details, prefer_mes=prefer_mes, prefer_greedy=prefer_greedy,
                   kept="greedy" if kept is plain else "equalshares/add1",
                   mes_selected=mes.selected, greedy_selected=plain.selected)
    return Outcome("equalshares/add1-comparison", election.budget, kept.selected, kept.projects, details)


class _EqualShares:
    """MES over groups of identical ballots, in integers over a common denominator.

    A voter's money depends only on what they paid, so voters who support the same already
    selected projects with the same utilities hold the same amount: they share a "state", and a
    project's price is computed over the states of its supporters, not over the voters one by
    one (supporters are counted per state from their ballot types, see `voter_types`).

    Amounts are exact: money is held as integers meaning amount × `scale` (a run's common
    denominator, multiplied whenever a price needs a finer unit), which is much faster than
    Fraction arithmetic and gives the same results.

    Utilities: for approval and choose-1 ballots, the project's cost ("cost utilities", as
    equalshares.net and pabutools' Cost_Sat); otherwise the points of the ballot (pabutools'
    Additive_Cardinal_Sat). A supporter pays min(their money, price × utility).
    """

    def __init__(self, election: Election, groups: list | None = None):
        self.election = election
        self.budget = election.budget
        self.cost = {p.id: p.cost for p in election.projects.values()}
        groups = ballot_groups(election) if groups is None else groups
        self.score = scores(election, groups)
        approval = election.vote_type in ("approval", "choose-1")
        if not approval and any(value < 0 for given, _ in groups for value in given.values()):
            raise RuleError("the Method of Equal Shares needs non-negative points")
        groups = {tuple(sorted(given.items())): voter_ids for given, voter_ids in groups}
        self.voters = len(election.votes)
        self.start = self.budget / self.voters if self.voters else Fraction(0)
        # Integer utilities: with cost utilities every supporter of a project has the same one
        # (1 here, the cost enters the price); points are scaled by their common denominator,
        # which scales every price alike and changes no choice.
        unit = math.lcm(*(value.denominator for key in groups for _, value in key)) if groups else 1
        self.type_utility: list[dict[str, int]] = []
        self.type_voters: list[list[str]] = []
        self.of_project: dict[str, list[int]] = {p: [] for p in self.cost}
        for key, voter_ids in groups.items():
            utility = {p: 1 if approval else int(value * unit) for p, value in key}
            self.type_utility.append(utility)
            self.type_voters.append(voter_ids)
            for project_id in utility:
                self.of_project[project_id].append(len(self.type_utility) - 1)
        # A project's price per unit of (integer) utility is divided by this weight to give its
        # price per unit of true utility: with cost utilities a supporter's utility is the cost.
        self.weight = {p: (cost if approval else Fraction(1, unit)) for p, cost in self.cost.items()}
        # Free projects with supporters are funded at once: they cost nobody anything.
        self.free = [p for p in self.cost if self.cost[p] == 0 and self.of_project[p]]
        self.candidates = [p for p in self.cost if self.cost[p] > 0 and self.of_project[p]]
        self.tie = {p: (self.cost[p], -self.score[p], natural_key(p)) for p in self.cost}
        # Per project: (ballot type, its utility, its number of voters).
        self.supporters = {p: [(t, self.type_utility[t][p], len(self.type_voters[t]))
                               for t in self.of_project[p]] for p in self.cost}
        self.sort_unit = {p: math.lcm(*(u for _, u, _ in self.supporters[p])) for p in self.candidates}
        self.uniform = approval
        # Per project and utility, its supporters' ballot types, to count them per state: when
        # there are few types for many voters, as (type, voters) pairs; otherwise as one type
        # per voter, counted at C speed (collections.Counter). See _MESRun.price.
        self.voter_types: dict[str, list[tuple[int, list[int] | None, list[tuple[int, int]] | None]]] = {}
        for p, supporters in self.supporters.items():
            by_utility: dict[int, list[tuple[int, int]]] = {}
            for t, u, n in supporters:
                by_utility.setdefault(u, []).append((t, n))
            entries = []
            for u, pairs in sorted(by_utility.items()):
                if 4 * len(pairs) <= sum(n for _, n in pairs):
                    entries.append((u, None, pairs))
                else:
                    entries.append((u, [t for t, n in pairs for _ in range(n)], None))
            self.voter_types[p] = entries
        # The price if every supporter could pay their share: no price is ever lower.
        self.lowest = {p: _constant(self.cost[p], self.weight[p], sum(u * n for _, u, n in self.supporters[p]))
                       for p in self.candidates}
        self.cost_denominators = math.lcm(*(c.denominator for c in self.cost.values())) if self.cost else 1

    def feasible(self, selected: list[str]) -> bool:
        return sum(self.cost[p] for p in selected) <= self.budget

    def add1(self) -> tuple[Fraction, _Run, int]:
        """(Per-voter budget, its run, runs made): the add1 completion.

        A run also says for how many more units per voter it would make the same choices
        (`steady`): those budgets give the same outcome, so they are skipped, not recomputed.
        The result is the one of adding 1 unit at a time.
        """
        per_voter, run, runs = self.start, self.run(self.start), 1
        while not self.exhaustive(run.selected):
            following = self.run(per_voter + run.steady + 1, after=run)
            runs += 1
            if not self.feasible(following.selected):
                return per_voter + run.steady, run, runs
            per_voter, run = per_voter + run.steady + 1, following
        return per_voter, run, runs

    def add1_stepwise(self, resume: bool = False) -> tuple[Fraction, _Run, int]:
        """add1 one unit at a time (slow; kept to check `add1`)."""
        per_voter, run, runs = self.start, self.run(self.start), 1
        while not self.exhaustive(run.selected):
            following = self.run(per_voter + 1, after=run if resume else None)
            runs += 1
            if not self.feasible(following.selected):
                break
            per_voter, run = per_voter + 1, following
        return per_voter, run, runs

    def exhaustive(self, selected: list[str]) -> bool:
        left = self.budget - sum(self.cost[p] for p in selected)
        chosen = set(selected)
        return not any(self.cost[p] <= left for p in self.candidates if p not in chosen)

    def run(self, per_voter: Fraction, explain: bool = False, after: _Run | None = None) -> _Run:
        """MES with `per_voter` each; `after`: a run with a lower budget, whose first rounds are
        reused as far as their choices still hold."""
        run = _MESRun(self, Fraction(per_voter), explain)
        if after is not None and not explain:
            run.resume(after)
        return run.run()
