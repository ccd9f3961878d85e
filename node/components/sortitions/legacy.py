"""LEGACY: the greedy quota filling that practitioners used before LEXIMIN (the Sortition
Foundation's stratification app, "legacy" algorithm, as analysed by Flanigan et al. 2021).

One person at a time: among the features still below their maximum and with someone left, take
the one whose need (min − selected) / (respondents left with it) is largest (the first in
categories.csv order on a tie), choose uniformly one of the respondents left with it, then remove
everyone whose feature reached its maximum. A run fails when a minimum can no longer be met (or
a need exceeds 1); the selection then starts again from the full pool.

It runs on profiles: choosing a respondent uniformly among those left with a feature is choosing
a profile with probability proportional to its members left, and members of a profile are
interchangeable, so the panels it draws have the same distribution as the person-by-person app.
"""
from __future__ import annotations

from node.components.sortitions.pool import PanelError
from node.components.sortitions.prng import SeededStream

MAX_ATTEMPTS = 100


class _Failed(Exception):
    pass


class Legacy:
    def __init__(self, pool, k: int):
        self.k = k
        self.counts = pool.counts()
        self.profiles = pool.profiles
        self.lows = [q.min for q in pool.quotas]
        self.highs = [q.max for q in pool.quotas]
        self.having = [[t for t, p in enumerate(pool.profiles) if f in p] for f in range(len(pool.quotas))]

    def _run(self, stream: SeededStream) -> list[int]:
        alive = list(self.counts)
        taken = [0] * len(self.counts)
        selected = [0] * len(self.lows)
        remaining = [sum(alive[t] for t in having) for having in self.having]
        for _ in range(self.k):
            best, ratio = None, -1.0e9
            for f, low in enumerate(self.lows):
                if selected[f] < low and remaining[f] < low - selected[f]:
                    raise _Failed
                if remaining[f] and selected[f] < self.highs[f]:
                    need = (low - selected[f]) / remaining[f]
                    if need > 1:
                        raise _Failed
                    if need > ratio:
                        best, ratio = f, need
            if best is None:
                raise _Failed
            pick = stream.below(remaining[best])
            for t in self.having[best]:
                if pick < alive[t]:
                    break
                pick -= alive[t]
            taken[t] += 1
            alive[t] -= 1
            for f in self.profiles[t]:
                selected[f] += 1
                remaining[f] -= 1
            for f in self.profiles[t]:
                if selected[f] == self.highs[f]:
                    for u in self.having[f]:
                        for g in self.profiles[u]:
                            remaining[g] -= alive[u]
                        alive[u] = 0
        if any(s < low for s, low in zip(selected, self.lows)):
            raise _Failed
        return taken

    def panel(self, stream: SeededStream) -> list[int]:
        """Profile counts of one panel, starting again after each failed run."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._run(stream)
            except _Failed:
                continue
        raise PanelError(f"LEGACY failed {MAX_ATTEMPTS} times in a row to fill the quotas (the greedy "
                         "algorithm gets stuck on these quotas; LEXIMIN does not)")

    def estimate(self, stream: SeededStream, runs: int) -> list[float]:
        """Each profile's selection probability per member, averaged over `runs` panels."""
        totals = [0] * len(self.counts)
        for _ in range(runs):
            for t, n in enumerate(self.panel(stream)):
                totals[t] += n
        return [total / (runs * n) for total, n in zip(totals, self.counts)]
