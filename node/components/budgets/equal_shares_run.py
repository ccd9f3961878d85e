"""One run of the Method of Equal Shares for a given per-voter budget, in integers, with how
long its choices hold as that budget grows (equal_shares.py uses it for the add1 completion)."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from node.components.budgets.rules_common import NO_SUPPORT, SELECTED, UNAFFORDABLE, ProjectResult, project_results

if TYPE_CHECKING:
    from node.components.budgets.equal_shares import _EqualShares


@dataclass
class _Run:
    selected: list[str]
    results: dict[str, ProjectResult] | None = None
    # For how many more whole units per voter every choice of the run stays the same.
    steady: int = 0
    # Where each round started, for a run with a higher budget to resume from (_MESRun.resume).
    rounds: list[tuple] = field(default_factory=list)


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
        self.results = project_results(mes.election, mes.score) if explain else None
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
            for state, count in _by_state(state_of, *mes.voter_types[project_id][0][1:]):
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
        for utility, types, pairs in mes.voter_types[project_id]:
            factor = sort_unit // utility
            for state, count in _by_state(state_of, types, pairs):
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


def _by_state(state_of: list[int], types: list[int] | None, pairs: list[tuple[int, int]] | None):
    """(state, number of supporters in it) from _EqualShares.voter_types' two forms."""
    if types is not None:
        return Counter(map(state_of.__getitem__, types)).items()
    counts: dict[int, int] = {}
    for t, n in pairs:
        state = state_of[t]
        counts[state] = counts.get(state, 0) + n
    return counts.items()


def _constant(cost: Fraction, weight: Fraction, utility: int) -> tuple:
    """The price cost / weight / utility, which does not depend on the voters' budget, in the
    form of `_MESRun.quote` (in integers: it need not be in lowest terms)."""
    numerator, denominator = cost.numerator * weight.denominator, cost.denominator * weight.numerator * utility
    return numerator / denominator, numerator, 0, denominator


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
