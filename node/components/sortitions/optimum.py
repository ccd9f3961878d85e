"""The leximin allocation over the quota polytope's linear relaxation, on profile counts: an
upper bound on what any distribution over panels can give, and the exact optimum when the
quotas have at most two categories.

A distribution over panels gives each profile t an expected count e_t (its probability is
e_t / n_t), and the expected counts of all distributions are the convex hull of the integer
panels. Relaxing "integer" to "real" can only enlarge that set, so the leximin over

    0 <= e_t <= n_t,   Σ e_t = k,   min_f <= Σ_{t has f} e_t <= max_f

is at least as good, stage by stage, as the true one. With one or two categories the quota
matrix is totally unimodular (each category's features partition the profiles, and the size row
is the sum of the first category's rows: two laminar families), so every vertex of the relaxed
polytope is a panel and the two leximins are the same. Each stage is one small LP (as many
variables as profiles), independent of the column generation in leximin.py: the tests and the
benchmark check LEXIMIN's result against it, and LEXIMIN uses each stage's bound to stop a stage
as soon as its master LP reaches it.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from node.components.sortitions.pool import PanelError
from node.components.sortitions.quotas import Model

EPS = 1e-9
# In expected members of a profile (see relaxed_leximin).
SLACK = 1e-9
MAX_SLACK = 1e-5


def exact(model: Model) -> bool:
    """Whether the relaxation's leximin is the true one (at most two categories)."""
    return len(model.pool.categories) <= 2


def relaxed_stage(model: Model, fixed: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(z, tight, reached): the largest z such that every profile not yet fixed (NaN in `fixed`) can
    have probability >= z while every fixed one keeps its probability, over the relaxation; and
    the unfixed profiles whose probability is exactly z in every such optimum (a positive dual:
    complementary slackness holds with every optimal solution); and the probabilities of the
    optimum the solver found."""
    counts = model.counts
    T = len(counts)
    unfixed = np.isnan(fixed)
    # Variables: e_0 .. e_{T-1}, z.  Rows: quotas (both sides), then one floor per profile.
    quota = np.hstack([model.incidence, np.zeros((len(model.lows), 1))])
    floors = np.hstack([-np.eye(T), np.where(unfixed, counts, 0.0)[:, None]])
    a_ub = np.vstack([quota, -quota, floors])
    b_ub = np.concatenate([model.highs, -model.lows, np.where(unfixed, 0.0, -np.nan_to_num(fixed) * counts)])
    a_eq = np.append(np.ones(T), 0.0)[None, :]
    bounds = [(0.0, float(n)) for n in counts] + [(0.0, None)]
    c = np.append(np.zeros(T), -1.0)
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[float(model.k)], bounds=bounds, method="highs")
    if result.status != 0:
        raise PanelError(f"the linear-programming solver failed ({result.message})")
    duals = -result.ineqlin.marginals[-T:]  # d(−z)/d(b): ≤ 0 for a binding floor
    tight = unfixed & (duals > EPS)
    return float(-result.fun), tight, result.x[:T] / counts


def relaxed_leximin(model: Model) -> np.ndarray:
    """Every profile's probability in the leximin allocation of the relaxation (see the module
    docstring; exact with at most two categories)."""
    value = np.full(len(model.counts), np.nan)
    slack = SLACK
    while np.isnan(value).any():
        # The next stages keep the fixed profiles `slack` members below their value: the solver
        # meets each row only within 1e-7, so a floor exactly at an optimum it reported can be
        # infeasible. A small slack keeps the next stages exact; if one is infeasible all the
        # same, the stage is solved again with a larger one.
        floor = np.where(np.isnan(value), np.nan, np.maximum(0.0, value - slack / model.counts))
        try:
            z, tight, reached = relaxed_stage(model, floor)
        except PanelError:
            if slack >= MAX_SLACK:
                raise
            slack *= 10
            continue
        if not tight.any():  # numerically flat duals: one profile at a time, the safe way
            tight = np.zeros(len(floor), dtype=bool)
            tight[_stuck(model, floor, z)] = True
        value[tight] = np.clip(np.minimum(z, reached[tight]), 0.0, 1.0)
    return value


def _stuck(model: Model, fixed: np.ndarray, z: float) -> int:
    """An unfixed profile that cannot rise above z while the other unfixed ones keep z."""
    unfixed = np.nonzero(np.isnan(fixed))[0]
    best, lowest = int(unfixed[0]), np.inf
    for t in unfixed:
        trial = np.where(np.isnan(fixed), z - EPS, fixed)
        trial[t] = np.nan
        value, _, _ = relaxed_stage(model, trial)
        if value < lowest:
            best, lowest = int(t), value
    return best


def decompose(model: Model, expected: np.ndarray, tolerance: float = 1e-7) -> list[np.ndarray]:
    """Panels whose convex hull contains the expected counts `expected`, when the quota matrix
    is totally unimodular (`exact`): at most one more panel than there are profiles.

    Carathéodory's construction: take a panel v on the smallest face of the polytope holding e
    (the quotas and bounds tight at e, made equalities: with a totally unimodular matrix that
    face's vertices are panels, and the integer program finds one), then move e away from v as
    far as the polytope allows, e = λ·v + (1 − λ)·e'. The new point e' makes one more constraint
    tight, so the face shrinks, and after at most dim + 1 steps e' is itself a panel. The
    weights are left to an LP over the panels found (leximin._weights), which also absorbs the
    rounding of the steps."""
    counts, incidence = model.counts, model.incidence
    # Every constraint as g·x <= b: quotas from above and below, then the bounds on x.
    g = np.vstack([incidence, -incidence, np.eye(len(counts)), -np.eye(len(counts))])
    b = np.concatenate([model.highs, -model.lows, counts, np.zeros(len(counts))])
    scale = np.maximum(1.0, np.abs(b))
    e = np.clip(np.asarray(expected, dtype=float), 0.0, counts)
    panels: list[np.ndarray] = []
    nf, T = len(model.lows), len(counts)
    for _ in range(T + 2):
        tight = b - g @ e <= tolerance * scale
        # The face: each tight quota becomes an equality, each tight bound fixes the count.
        at_max, at_min, at_top, at_zero = tight[:nf], tight[nf:2 * nf], tight[2 * nf:2 * nf + T], tight[2 * nf + T:]
        lows = np.where(at_max, model.highs, model.lows)
        highs = np.where(at_min, model.lows, model.highs)
        lower = np.where(at_top, counts, 0.0)
        upper = np.where(at_zero, 0.0, counts)
        v = model.solve(lows=lows, highs=highs, lower=lower, upper=upper)
        if v is None:
            return panels  # rounding left e just off the face: the caller checks the hull
        panels.append(v)
        d = e - v
        if np.abs(d).max() <= tolerance * max(1.0, float(counts.max())):
            return panels
        rise = g @ d
        room = b - g @ e
        moving = (rise > tolerance) & ~tight
        if not moving.any():
            return panels
        mu = float(np.min(np.maximum(room[moving], 0.0) / rise[moving]))
        e = np.clip(e + mu * d, 0.0, counts)
    return panels
