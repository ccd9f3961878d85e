"""Outcome rules of participatory budgets, in exact rational arithmetic.

Rule names are Pabulib's (META `rule`); docs/ARCHITECTURE.md, "Participatory budgeting rules",
defines each one and its tie-breaking. Scores always come from the ballots (VOTES), never from
the published `votes`/`score` columns of PROJECTS:

- approval and choose-1: one point per approval;
- cumulative and scoring: the `points` column;
- ordinal: a ballot ranking k projects gives k points to its first, k-1 to the next, ... 1 to
  its last (this reproduces the published scores of Kraków, where k is always 3, and of Zürich,
  where one ballot ranks a single project).

Every rule returns an Outcome whose `projects` explain, for each project, why it was selected or
not (reason codes below) with the numbers a results page needs: for the Method of Equal Shares,
what each supporter paid.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from node.components.budgets.pabulib import Election, parse_number

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


def outcome(election: Election, rule: str | None = None) -> Outcome:
    """The outcome of `rule`, by default the file's META rule."""
    rule = rule or election.rule
    if not rule:
        raise RuleError(f"the file's META names no rule; choose one of {', '.join(RULES)}")
    if rule not in RULES:
        source = " (the file's META rule; choose another)" if rule == election.rule else ""
        raise RuleError(f"unknown rule {rule!r}{source}; known rules: {', '.join(RULES)}")
    if rule == "greedy":
        return greedy(election)
    if rule == "greedy-no-skip":
        return greedy(election, skip=False)
    if rule == "greedy-threshold":
        text = election.meta.get("min_project_score_threshold")
        if text is None:
            raise RuleError("greedy-threshold needs META min_project_score_threshold")
        try:
            threshold = parse_number(text, "min_project_score_threshold")
        except ValueError as exc:
            raise RuleError(str(exc)) from None
        return greedy(election, threshold=threshold)
    if rule == "equalshares":
        return equal_shares(election, completion=None)
    if rule == "equalshares/add1":
        return equal_shares(election)
    return equal_shares_with_comparison(election)


def utilities(election: Election) -> list[dict[str, Fraction]]:
    """Per ballot: project -> points given (see the module docstring), zeros left out."""
    result = []
    for vote in election.votes:
        if election.vote_type in ("approval", "choose-1"):
            points = dict.fromkeys(vote.projects, Fraction(1))
        elif election.vote_type == "ordinal":
            size = len(vote.projects)
            points = {project: Fraction(size - rank) for rank, project in enumerate(vote.projects)}
        else:
            points = {p: value for p, value in zip(vote.projects, vote.points or ()) if value}
        result.append(points)
    return result


def scores(election: Election) -> dict[str, Fraction]:
    totals = dict.fromkeys(election.projects, Fraction(0))
    for points in utilities(election):
        for project, value in points.items():
            totals[project] += value
    return totals


def natural_key(project_id: str) -> tuple:
    """Identifiers compared as text with their numbers compared by value: "9" before "10"."""
    parts = re.split(r"([0-9]+)", project_id)
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts)), project_id


def _results(election: Election, score: dict[str, Fraction]) -> dict[str, ProjectResult]:
    return {p.id: ProjectResult(p.id, p.cost, score[p.id]) for p in election.projects.values()}


def greedy(election: Election, *, skip: bool = True, threshold: Fraction | None = None,
           rule: str | None = None) -> Outcome:
    """Projects by decreasing score (ties: lower cost, then project id), each selected if it fits."""
    score = scores(election)
    results = _results(election, score)
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


def equal_shares(election: Election, completion: str | None = "add1") -> Outcome:
    """The Method of Equal Shares; `completion="add1"` raises the voters' budget 1 unit at a time.

    add1, as pabutools computes it (`method_of_equal_shares(..., voter_budget_increment=1)`):
    each voter starts with budget/n; while the outcome is not exhaustive (some supported project
    still fits in the money left), run again with one more currency unit per voter, and stop at
    the last outcome that stays within the budget.
    """
    mes = _EqualShares(election)
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
    mes = mes or equal_shares(election)
    plain = greedy(election)
    prefer_mes = prefer_greedy = 0
    mes_set, greedy_set = set(mes.selected), set(plain.selected)
    for points in utilities(election):
        in_mes = len(mes_set.intersection(points))
        in_greedy = len(greedy_set.intersection(points))
        prefer_mes += in_mes > in_greedy
        prefer_greedy += in_greedy > in_mes
    kept = plain if prefer_greedy > prefer_mes else mes
    details = dict(mes.details, prefer_mes=prefer_mes, prefer_greedy=prefer_greedy,
                   kept="greedy" if kept is plain else "equalshares/add1",
                   mes_selected=mes.selected, greedy_selected=plain.selected)
    return Outcome("equalshares/add1-comparison", election.budget, kept.selected, kept.projects, details)


@dataclass
class _Run:
    selected: list[str]
    results: dict[str, ProjectResult] | None = None
    # For how many more whole units per voter every choice of the run stays the same.
    steady: int = 0
    # Where each round started, for a run with a higher budget to resume from (_MESRun.resume).
    rounds: list[tuple] = field(default_factory=list)


class _EqualShares:
    """MES over groups of identical ballots, in integers over a common denominator.

    A voter's money depends only on what they paid, so voters who support the same already
    selected projects with the same utilities hold the same amount: they share a "state", and a
    project's price is computed over the states of its supporters (counted at C speed), not over
    the voters one by one.

    Amounts are exact: money is held as integers meaning amount × `scale` (a run's common
    denominator, multiplied whenever a price needs a finer unit), which is much faster than
    Fraction arithmetic and gives the same results.

    Utilities: for approval and choose-1 ballots, the project's cost ("cost utilities", as
    equalshares.net and pabutools' Cost_Sat); otherwise the points of the ballot (pabutools'
    Additive_Cardinal_Sat). A supporter pays min(their money, price × utility).
    """

    def __init__(self, election: Election):
        self.election = election
        self.budget = election.budget
        self.cost = {p.id: p.cost for p in election.projects.values()}
        self.score = scores(election)
        approval = election.vote_type in ("approval", "choose-1")
        groups: dict[tuple, list[str]] = {}
        for vote, points in zip(election.votes, utilities(election)):
            if any(value < 0 for value in points.values()):
                raise RuleError("the Method of Equal Shares needs non-negative points")
            groups.setdefault(tuple(sorted(points.items())), []).append(vote.voter_id)
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
        # Per project and utility: the ballot type of each supporter (a type repeated once per
        # voter), so that supporters are counted per state at C speed.
        self.voter_types: dict[str, list[tuple[int, list[int]]]] = {}
        for p, supporters in self.supporters.items():
            by_utility: dict[int, list[int]] = {}
            for t, u, n in supporters:
                by_utility.setdefault(u, []).extend([t] * n)
            self.voter_types[p] = sorted(by_utility.items())
        # The price if every supporter could pay their share: no price is ever lower.
        self.lowest = {p: _constant(self.cost[p] / self.weight[p] / sum(u * n for _, u, n in self.supporters[p]))
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


class _MESRun:
    """One run of MES for a given per-voter budget b.

    Along the run every amount is an affine function of b (while the choices stay the same), so
    each amount is held with its slope, and every choice (which projects are affordable, which
    is cheapest, which supporters can pay their full share) is checked for how many more units
    of b it holds: the smallest of these is `steady`.
    """

    def __init__(self, mes: _EqualShares, per_voter: Fraction, explain: bool):
        self.mes = mes
        self.scale = math.lcm(per_voter.denominator, mes.cost_denominators)
        # state -> a member's money × scale, and its slope (d money / d b) × scale.
        self.money = {0: per_voter.numerator * (self.scale // per_voter.denominator)}
        self.slope = {0: self.scale}
        self.state_of = [0] * len(mes.type_utility)  # ballot type -> state
        self.next_state = 1
        self.results = _results(mes.election, mes.score) if explain else None
        self.steady: int | None = None  # None: no limit found yet
        self.per_voter = per_voter
        self.bound = dict(mes.lowest)  # prices only rise: a lower bound of each project's price
        self.remaining = set(mes.candidates)
        self.selected = list(mes.free)
        self.rounds: list[tuple] = []

    def resume(self, earlier: _Run) -> None:
        """Start from the latest round of `earlier` (a run with a lower budget) whose preceding
        choices all still hold at this budget: its amounts are moved along their slopes."""
        for index in range(len(earlier.rounds) - 1, -1, -1):
            limit, budget, *state = earlier.rounds[index]
            if limit is None or limit >= self.per_voter:
                break
        else:
            return
        scale, money, slope, state_of, next_state, remaining, bound, chosen = state
        units = int(self.per_voter - budget)
        self.steady = None if limit is None else int(limit - self.per_voter)
        self.scale, self.slope, self.next_state = scale, slope, next_state
        self.money = {state: m + slope[state] * units for state, m in money.items()}
        self.state_of, self.remaining = list(state_of), set(remaining)
        self.bound = {p: _moved(price, units) for p, price in bound.items()}
        self.selected = earlier.selected[:chosen]
        self.rounds = earlier.rounds[:index]

    def hold(self, value: int, slope: int, strict: bool = False) -> None:
        """Record that a choice needs value + slope × d >= 0 (> 0 if strict) for d more units."""
        if slope >= 0:
            return
        steps = (value - 1 if strict else value) // -slope
        assert steps >= 0, "a choice of the run does not hold for its own budget"
        if self.steady is None or steps < self.steady:
            self.steady = steps

    def price(self, project_id: str):
        """Affordable: (cost left, its slope, utility left); the price per unit of utility is
        cost left / utility left, paid by the supporters who have that much; the others pay
        all they have. Not affordable: [the supporters' money, its slope]."""
        mes, money, slope, state_of = self.mes, self.money, self.slope, self.state_of
        cost = mes.cost[project_id]
        cost = cost.numerator * (self.scale // cost.denominator)
        items, total, total_slope, utility_left = [], 0, 0, 0
        if mes.uniform:  # approval: every utility is 1, so the poorest are the ones with least money
            for state, count in Counter(map(state_of.__getitem__, mes.voter_types[project_id][0][1])).items():
                m = money[state]
                if m:  # supporters without money pay nothing: leave them out
                    s = slope[state]
                    total += m * count
                    total_slope += s * count
                    utility_left += count
                    items.append((m, s, count))
            if total < cost:
                return [total, total_slope]
            items.sort()
            cost_slope = 0
            for m, s, count in items:
                if m * utility_left >= cost:
                    break
                cost -= m * count
                cost_slope -= s * count
                utility_left -= count
            return cost, cost_slope, utility_left
        sort_unit = mes.sort_unit[project_id]
        for utility, types in mes.voter_types[project_id]:
            factor = sort_unit // utility
            for state, count in Counter(map(state_of.__getitem__, types)).items():
                m = money[state]
                if m:
                    total += m * count
                    total_slope += slope[state] * count
                    utility_left += utility * count
                    items.append((m * factor, m, slope[state], utility, count))
        if total < cost:
            return [total, total_slope]
        items.sort()  # poorest per unit of utility first
        cost_slope = 0
        for _, m, s, utility, count in items:
            if m * utility_left >= cost * utility:
                break
            cost -= m * count
            cost_slope -= s * count
            utility_left -= utility * count
        return cost, cost_slope, utility_left

    def quote(self, project_id: str, cost_left: int, cost_slope: int, utility_left: int) -> tuple:
        """The price per unit of weighted utility: (float, numerator, its slope, denominator)."""
        weight = self.mes.weight[project_id]
        denominator = utility_left * self.scale * weight.numerator
        return (cost_left * weight.denominator / denominator, cost_left * weight.denominator,
                cost_slope * weight.denominator, denominator)

    def run(self) -> _Run:
        mes, results = self.mes, self.results
        bound, remaining, selected = self.bound, self.remaining, self.selected
        if results is not None:
            for p in mes.cost:
                results[p].reason = NO_SUPPORT
            for position, p in enumerate(mes.free, 1):
                results[p].selected, results[p].reason, results[p].position = True, SELECTED, position
        while remaining:
            if results is None:  # (pay replaces the money and slope dicts, never changes them)
                limit = None if self.steady is None else self.per_voter + self.steady
                self.rounds.append((limit, self.per_voter, self.scale, self.money, self.slope,
                                    list(self.state_of), self.next_state, set(remaining), dict(bound),
                                    len(selected)))
            best = best_price = best_split = None
            for p in sorted(remaining, key=lambda p: bound[p][0]):
                # Floats order the candidates; exact comparisons decide (a float comparison
                # that is strict is exact too: rounding never reverses an order).
                if best_price is not None and bound[p][0] > best_price[0]:
                    break
                split = self.price(p)
                if isinstance(split, list):
                    remaining.discard(p)
                    total, total_slope = split
                    cost = mes.cost[p]
                    # It stays unaffordable while its supporters' money stays below its cost.
                    self.hold(cost.numerator * (self.scale // cost.denominator) - total, -total_slope, strict=True)
                    if results is not None:
                        results[p].reason = UNAFFORDABLE
                        results[p].supporters_money = Fraction(total, self.scale)
                    continue
                bound[p] = price = self.quote(p, *split)
                if best is None or _before(price, mes.tie[p], best_price, mes.tie[best]):
                    best, best_price, best_split = p, price, split
            if best is None:
                break
            # The winner stays ahead of every other candidate: their prices (or lower bounds,
            # valid whatever supporters turn out poor) stay above its own.
            for p in remaining:
                if p != best:
                    _, num, num_slope, den = bound[p]
                    strict = mes.tie[p] < mes.tie[best]
                    self.hold(num * best_price[3] - best_price[1] * den,
                              num_slope * best_price[3] - best_price[2] * den, strict)
            selected.append(best)
            remaining.discard(best)
            if results is not None:
                result = results[best]
                result.selected, result.reason, result.position = True, SELECTED, len(selected)
                result.price = Fraction(best_price[1], best_price[3])
            self.pay(best, *best_split)
        return _Run(selected, results, self.steady if self.steady is not None else 0, self.rounds)

    def pay(self, project_id: str, cost_left: int, cost_slope: int, utility_left: int) -> None:
        mes, state_of = self.mes, self.state_of
        # A finer unit, so that the price per unit of utility and its slope are whole numbers;
        # states nobody is in any more are dropped on the way.
        divisor = math.gcd(cost_left, cost_slope, utility_left)
        finer, price, price_slope = utility_left // divisor, cost_left // divisor, cost_slope // divisor
        self.scale *= finer
        live = set(state_of)
        self.money = money = {state: self.money[state] * finer for state in live}
        self.slope = slope = {state: self.slope[state] * finer for state in live}
        payments = self.results[project_id].payments if self.results is not None else None
        moved: dict[tuple[int, int], tuple[int, int]] = {}
        for t, utility, _ in mes.supporters[project_id]:
            old = state_of[t]
            m = money[old]
            if not m:
                if payments is not None:
                    payments.update(dict.fromkeys(mes.type_voters[t], Fraction(0)))
                continue
            target = moved.get((old, utility))
            if target is None:
                share, share_slope = price * utility, price_slope * utility
                if m < share:  # cannot pay a full share: pays all, and stays unable to
                    self.hold(share - m, share_slope - slope[old], strict=True)
                    left = left_slope = 0
                else:
                    self.hold(m - share, slope[old] - share_slope)
                    left, left_slope = m - share, slope[old] - share_slope
                    if not left and left_slope:  # exactly emptied: a unit more and it is not
                        self.steady = 0
                target = moved[old, utility] = (self.next_state, m - left)
                money[self.next_state], slope[self.next_state] = left, left_slope
                self.next_state += 1
            new, paid = target
            state_of[t] = new
            if payments is not None:
                payments.update(dict.fromkeys(mes.type_voters[t], Fraction(paid, self.scale)))


def _constant(value: Fraction) -> tuple:
    """A price that does not depend on the voters' budget, in the form of `_MESRun.quote`."""
    return value.numerator / value.denominator, value.numerator, 0, value.denominator


def _moved(price: tuple, units: int) -> tuple:
    """A price of `_MESRun.quote`, `units` of per-voter budget later."""
    _, numerator, slope, denominator = price
    numerator += slope * units
    return numerator / denominator, numerator, slope, denominator


def _before(price, tie, other_price, other_tie) -> bool:
    """Lower price first; equal prices by the tie-breaking key."""
    if price[0] != other_price[0]:
        return price[0] < other_price[0]
    left, right = price[1] * other_price[3], other_price[1] * price[3]
    return left < right if left != right else tie < other_tie
