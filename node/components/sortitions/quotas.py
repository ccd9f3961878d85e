"""Quota-satisfying panels as integer programs over profile counts, and the checks that turn
quotas no panel can meet into a message naming them (never a solver traceback).

A panel is a vector x of how many volunteers of each profile it takes: 0 <= x[t] <= members of
t, sum x = k, and for every feature f: min_f <= (sum of x[t] over profiles with f) <= max_f.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from node.components.sortitions.pool import PanelError, Pool

# Beyond this many subsets of categories, the search for the smallest conflicting one stops
# and all categories are examined together (each check is one small integer program).
MAX_SUBSET_CHECKS = 64


class Model:
    """The pool's quota matrix, built once per selection."""

    def __init__(self, pool: Pool, k: int):
        self.pool, self.k = pool, k
        self.counts = np.array(pool.counts(), dtype=float)
        self.incidence = np.zeros((len(pool.quotas), len(pool.profiles)))
        for t, profile in enumerate(pool.profiles):
            self.incidence[list(profile), t] = 1.0
        self.lows = np.array([q.min for q in pool.quotas], dtype=float)
        self.highs = np.array([q.max for q in pool.quotas], dtype=float)
        self.available = self.incidence @ self.counts  # respondents having each feature

    def solve(self, objective=None, lows=None, highs=None, lower=None, upper=None):
        """A panel maximising `objective` (profile weights; None: any panel), or None when the
        quotas (by default the pool's) admit none; `lower`/`upper`: bounds on each profile's
        count (by default 0 and its members)."""
        lows = self.lows if lows is None else lows
        highs = self.highs if highs is None else highs
        size_row = np.ones((1, len(self.counts)))
        constraints = [LinearConstraint(size_row, self.k, self.k),
                       LinearConstraint(self.incidence, lows, highs)]
        c = np.zeros(len(self.counts)) if objective is None else -np.asarray(objective, dtype=float)
        bounds = Bounds(0 if lower is None else lower, self.counts if upper is None else upper)
        result = milp(c, constraints=constraints, integrality=np.ones(len(self.counts)),
                      bounds=bounds, options={"mip_rel_gap": 1e-9, "time_limit": 300})
        if result.status == 2:
            return None
        if result.status != 0 or result.x is None:
            raise PanelError(f"the integer-programming solver gave up ({result.message}); "
                             "try fewer categories or a smaller pool")
        return np.rint(result.x).astype(int)


def check_quotas(model: Model) -> None:
    """Raise PanelError naming the quotas when no panel of size k meets them."""
    pool, k = model.pool, model.k
    if k < 1:
        raise PanelError(f"the panel size must be at least 1 (got {k})")
    if k > pool.size:
        raise PanelError(f"the panel size {k} is larger than the pool of {pool.size} respondents")
    problems = []
    for f, quota in enumerate(pool.quotas):
        if model.available[f] < quota.min:
            problems.append(f"{pool.describe(f)} needs at least {quota.min} but only "
                            f"{int(model.available[f])} respondents have it")
    for category in pool.categories:
        features = [f for f, q in enumerate(pool.quotas) if q.category == category]
        lowest = sum(pool.quotas[f].min for f in features)
        highest = sum(min(pool.quotas[f].max, int(model.available[f])) for f in features)
        if lowest > k:
            problems.append(f"the minimums of {category} add up to {lowest}, more than the panel size {k}")
        elif highest < k:
            problems.append(f"at most {highest} respondents can be chosen for {category} (its maximums, "
                            f"capped by the respondents who have each feature), fewer than the panel size {k}")
    if problems:
        raise PanelError(f"the quotas cannot be met by a panel of {k}: " + "; ".join(problems))
    if model.solve() is None:
        raise PanelError(conflict_message(model))


def _relaxed(model: Model, kept: list[tuple[int, str]]):
    lows = np.zeros_like(model.lows)
    highs = np.full_like(model.highs, float(model.k))
    for f, side in kept:
        if side == "min":
            lows[f] = model.lows[f]
        else:
            highs[f] = model.highs[f]
    return lows, highs


def _infeasible(model: Model, kept) -> bool:
    lows, highs = _relaxed(model, kept)
    return model.solve(lows=lows, highs=highs) is None


def conflict_message(model: Model) -> str:
    """Find the fewest categories whose quotas already conflict, then drop every bound of theirs
    the conflict does not need (a deletion filter), and name what remains."""
    pool, k = model.pool, model.k
    bounds = {c: [] for c in pool.categories}
    for f, quota in enumerate(pool.quotas):
        if quota.min > 0:
            bounds[quota.category].append((f, "min"))
        if quota.max < min(k, model.available[f]):
            bounds[quota.category].append((f, "max"))
    conflicting = None
    checks = 0
    for size in range(1, len(pool.categories) + 1):
        for subset in combinations(pool.categories, size):
            checks += 1
            if checks > MAX_SUBSET_CHECKS:
                break
            if _infeasible(model, [b for c in subset for b in bounds[c]]):
                conflicting = [b for c in subset for b in bounds[c]]
                break
        if conflicting is not None or checks > MAX_SUBSET_CHECKS:
            break
    if conflicting is None:
        conflicting = [b for c in pool.categories for b in bounds[c]]
    for bound in list(conflicting):
        trial = [b for b in conflicting if b != bound]
        if _infeasible(model, trial):
            conflicting = trial
    names = list(dict.fromkeys(pool.quotas[f].category for f, _side in conflicting))
    detail = ", ".join(f"{pool.describe(f)} {side} "
                       f"{pool.quotas[f].min if side == 'min' else pool.quotas[f].max}"
                       for f, side in conflicting)
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else ""
    which = (f"the quotas of {listed} cannot be met together" if len(names) > 1
             else f"the quotas of {names[0]} cannot be met" if names
             else "no panel exists")
    return (f"{which} by a panel of {k} from this pool: {detail} "
            f"(given which respondents have which features)")
