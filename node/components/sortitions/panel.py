"""Stratified panel selection for citizens' assemblies: read the pool and the quotas, check
them, compute every volunteer's selection probability with LEXIMIN or LEGACY, and draw one panel
from a seed (the procedure is in docs/ARCHITECTURE.md, "Sortition: panel selection").

    select_panel("categories.csv", "respondents.csv", 20, algorithm="leximin", seed="2027-05-01")
"""
from __future__ import annotations

import secrets

from node.components.sortitions.pool import PanelError, Pool, read_pool
from node.components.sortitions.prng import SeededStream, choose_members

ALGORITHMS = ("leximin", "legacy")
DEFAULT_RUNS = 10_000
MAX_RUNS = 1_000_000

__all__ = ["ALGORITHMS", "DEFAULT_RUNS", "MAX_RUNS", "PanelError", "select_panel"]


def select_panel(categories, respondents, size: int, *, algorithm: str = "leximin",
                 seed: str | None = None, runs: int = DEFAULT_RUNS) -> dict:
    """The panel and the probabilities, as the JSON object `civicnode sortition panel` prints."""
    if algorithm not in ALGORITHMS:
        raise PanelError(f"unknown algorithm {algorithm!r} (choose {' or '.join(ALGORITHMS)})")
    if algorithm == "legacy" and not 1 <= runs <= MAX_RUNS:
        raise PanelError(f"the number of LEGACY runs must be between 1 and {MAX_RUNS:,} (got {runs})")
    # Without a given seed, a random one is chosen and returned, so the draw can still be re-run.
    seed = secrets.token_hex(16) if seed is None else str(seed)
    if not seed.strip():
        raise PanelError("the seed must not be empty")
    pool = read_pool(categories, respondents)
    # The solver is imported only here: the rest of the node never needs SciPy.
    from node.components.sortitions.quotas import Model, check_quotas

    model = Model(pool, size)
    check_quotas(model)
    result = {"algorithm": algorithm, "seed": seed, "size": size, "pool": pool.size,
              "panel": [], "min_probability": 0.0, "probabilities": {}}
    if algorithm == "leximin":
        from node.components.sortitions.leximin import leximin

        panels, weights = leximin(model)
        distribution = sorted((tuple(int(n) for n in p), float(w)) for p, w in zip(panels, weights) if w > 0)
        probabilities = [sum(w * p[t] for p, w in distribution) / len(pool.members[t])
                         for t in range(len(pool.profiles))]
        stream = SeededStream(seed, "leximin-draw")
        counts = _pick(distribution, stream.uniform())
        result["profiles"] = [{"features": {pool.quotas[f].category: pool.quotas[f].feature for f in profile},
                               "respondents": len(members)}
                              for profile, members in zip(pool.profiles, pool.members)]
        result["distribution"] = [{"probability": w, "counts": list(p)} for p, w in distribution]
    else:
        from node.components.sortitions.legacy import Legacy

        legacy = Legacy(pool, size)
        stream = SeededStream(seed, "legacy-panel")
        counts = legacy.panel(stream)
        probabilities = legacy.estimate(SeededStream(seed, "legacy-estimate"), runs)
        result["runs"] = runs
    chosen = sorted(i for t, n in enumerate(counts) for i in choose_members(stream, pool.members[t], n))
    per_person = _per_person(pool, probabilities)
    result["panel"] = [pool.ids[i] for i in chosen]
    result["probabilities"] = {str(pool.ids[i]): p for i, p in enumerate(per_person)}
    result["min_probability"] = min(per_person)
    return result


def _pick(distribution: list[tuple[tuple, float]], u: float) -> tuple:
    """The first panel, in canonical order, whose cumulative probability exceeds u."""
    total = 0.0
    for counts, weight in distribution:
        total += weight
        if u < total:
            return counts
    return distribution[-1][0]  # u above a total rounded just below 1


def _per_person(pool: Pool, by_profile: list[float]) -> list[float]:
    result = [0.0] * pool.size
    for t, members in enumerate(pool.members):
        value = min(1.0, max(0.0, float(by_profile[t])))
        for i in members:
            result[i] = value
    return result
