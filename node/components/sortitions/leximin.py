"""LEXIMIN (Flanigan, Gölz, Gupta, Hennig, Procaccia, "Fair algorithms for selecting citizens'
assemblies", Nature 596, 2021): the distribution over quota-satisfying panels that maximises the
smallest selection probability of any volunteer, then the next smallest, and so on.

Volunteers of one profile are interchangeable, and the leximin allocation is unique, so it gives
them all the same probability: the algorithm runs on profiles (probability of a profile =
expected number of its members on the panel / its number of members), which keeps the linear
programs as small as the number of distinct profiles rather than the pool.

Each stage maximises z, the smallest probability among profiles not yet fixed, by column
generation on the dual of the master LP (the paper's formulation):

    minimise  ŷ − Σ_{t fixed} p_t·y_t
    subject to Σ_{t not fixed} y_t = 1,   y ≥ 0,
               Σ_t y_t·x_P[t]/n_t ≤ ŷ   for every panel P found so far;

the pricing problem (quotas.Model.solve) finds the panel with the largest Σ_t y_t·x[t]/n_t; if
it exceeds ŷ it joins the master, otherwise the stage is optimal, and every profile with a
positive y_t is fixed at z (complementary slackness: its constraint is tight in every optimal
distribution). When all profiles are fixed, a last LP finds the panel weights that reach them.

With at most two categories the quota polytope's vertices are all panels (optimum.py), so the
leximin probabilities come from a few small LPs over profile counts, and at most one panel per
profile, plus one, is enough to reach them (Carathéodory): no column generation.
"""
from __future__ import annotations

import logging

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, hstack as sparse_hstack, vstack

from node.components.sortitions.optimum import decompose, exact, relaxed_leximin
from node.components.sortitions.pool import PanelError
from node.components.sortitions.quotas import Model

log = logging.getLogger(__name__)

EPS = 1e-9
# Fixed probabilities are lowered by this much so that rounding in one stage cannot make the
# next stage's LP infeasible; far below the precision anyone reads a probability at.
SLACK = 1e-9
MAX_PANELS = 20_000
# Extra pricing ILPs per master LP (see _more_panels).
EXTRA_PANELS = 4


def _lp(c, **kwargs):
    result = linprog(c, method="highs", **kwargs)
    if result.status != 0:
        raise PanelError(f"the linear-programming solver failed ({result.message})")
    return result


class _Panels:
    """The panels found so far, as a sparse matrix of coverage x_P[t] / n_t."""

    def __init__(self, counts):
        self.counts = counts
        self.vectors: list[np.ndarray] = []
        self.known: set = set()
        self._rows: list = []
        self._matrix = None

    def add(self, panel: np.ndarray) -> bool:
        key = tuple(panel)
        if key in self.known:
            return False
        if len(self.vectors) >= MAX_PANELS:
            raise PanelError(f"LEXIMIN did not converge within {MAX_PANELS} panels")
        self.known.add(key)
        self.vectors.append(panel)
        self._rows.append(csr_matrix(panel / self.counts))
        self._matrix = None
        return True

    def coverage(self):
        if self._matrix is None:
            self._matrix = vstack(self._rows).tocsr()
        return self._matrix


def _initial_panels(model: Model, panels: _Panels) -> np.ndarray:
    """Diverse starting panels (multiplicative weights, as in the paper's code: members of each
    new panel weigh less in the next round), then one panel for each profile not yet on any.
    Returns which profiles can be on a panel at all."""
    counts = model.counts
    weights = np.ones(len(counts))
    covered = np.zeros(len(counts), dtype=bool)
    for _ in range(min(len(counts), 3 * model.k)):
        panel = model.solve(objective=weights)
        covered |= panel > 0
        if panels.add(panel):
            weights *= 0.8 ** (panel / counts)
            weights *= len(counts) / weights.sum()
        else:
            weights = 0.9 * weights + 0.1
        if covered.all():
            break
    for t in np.nonzero(~covered)[0]:
        if covered[t]:
            continue
        target = np.zeros(len(counts))
        target[t] = 1.0
        panel = model.solve(objective=target)
        if panel[t] > 0:
            panels.add(panel)
            covered |= panel > 0
    return covered


def _more_panels(model: Model, panels: _Panels, weights, y_hat: float, best) -> None:
    """More panels from the same duals, since a master LP costs more than a pricing ILP on large
    pools (the paper's heuristic): lower the weight of the profiles the last panel took and ask
    again; keep each new panel that still violates the dual, stop at the first that does not."""
    trial = weights.copy()
    for _ in range(EXTRA_PANELS):
        trial = trial * 0.8 ** (best / model.counts)
        best = model.solve(objective=trial)
        if float(best @ weights) <= y_hat + EPS * max(1.0, abs(y_hat)) or not panels.add(best):
            return


def leximin(model: Model) -> tuple[list[np.ndarray], np.ndarray]:
    """The panels (profile count vectors) and their probabilities."""
    if exact(model):
        found = _from_relaxation(model)
        if found is not None:
            return found
    counts = model.counts
    T = len(counts)
    panels = _Panels(counts)
    reachable = _initial_panels(model, panels)
    # Profiles that no panel can include have probability 0 in every distribution.
    fixed = np.where(reachable, np.nan, 0.0)
    stage = 0
    while np.isnan(fixed).any():
        stage += 1
        unfixed = np.isnan(fixed)
        c = np.append(np.where(unfixed, 0.0, -np.nan_to_num(fixed)), 1.0)
        a_eq = np.append(unfixed.astype(float), 0.0)[None, :]
        bounds = [(0, None)] * T + [(None, None)]
        # Every panel has k members, so z can never exceed the probability mass the fixed
        # profiles leave, shared equally: reaching it ends the stage and fixes everyone left.
        ceiling = (model.k - float(np.nan_to_num(fixed) @ counts)) / float(counts[unfixed].sum())
        while True:
            matrix = panels.coverage()
            rows = sparse_hstack([matrix, csr_matrix(-np.ones((matrix.shape[0], 1)))]).tocsr()
            result = _lp(c, A_ub=rows, b_ub=np.zeros(matrix.shape[0]), A_eq=a_eq, b_eq=[1.0], bounds=bounds)
            y, y_hat = result.x[:T], result.x[T]
            if result.fun >= ceiling - EPS:
                y = np.where(unfixed, 1.0, 0.0)
                break
            best = model.solve(objective=y / counts)
            value = float(best @ (y / counts))
            if value <= y_hat + EPS * max(1.0, abs(y_hat)) or not panels.add(best):
                break
            _more_panels(model, panels, y / counts, y_hat, best)
        z = float(result.fun)
        newly = unfixed & (y > EPS)
        if not newly.any():  # numerically flat duals: fix the unfixed profile with the most weight
            newly = np.zeros(T, dtype=bool)
            newly[int(np.argmax(np.where(unfixed, y, -1.0)))] = True
        fixed[newly] = min(1.0, max(0.0, z - SLACK))
        log.debug("leximin stage %d: %d profiles fixed at %.6f, %d left, %d panels",
                  stage, newly.sum(), z, np.isnan(fixed).sum(), len(panels.vectors))
    return panels.vectors, _weights(panels, fixed)


def _from_relaxation(model: Model):
    """The leximin of the relaxation, exact here, and panels reaching it; None if rounding kept
    the panels found from reaching it (the column generation then runs instead)."""
    try:
        target = relaxed_leximin(model)
        panels = _Panels(model.counts)
        for panel in decompose(model, target * model.counts):
            panels.add(panel)
        if not panels.vectors:
            return None
        target = np.maximum(0.0, target - SLACK)  # as the stages below do
        weights = _weights(panels, target)
    except PanelError as exc:  # a solver failure: the column generation may still succeed
        log.warning("leximin: %s; using column generation", exc)
        return None
    shortfall = float(np.max(target - panels.coverage().T @ weights))
    if shortfall > 1e-7:
        log.warning("leximin: the relaxation's panels fall %.3g short; using column generation", shortfall)
        return None
    log.debug("leximin from the relaxation: %d panels", len(panels.vectors))
    return panels.vectors, weights


def _weights(panels: _Panels, fixed) -> np.ndarray:
    """Panel probabilities giving every profile at least its fixed probability (up to the
    smallest shortfall ε, minimised: 0 but for rounding)."""
    coverage = panels.coverage().T.tocsr()   # T × P
    T, P = coverage.shape
    c = np.append(np.zeros(P), 1.0)
    a_ub = -sparse_hstack([coverage, csr_matrix(np.ones((T, 1)))]).tocsr()
    a_eq = csr_matrix(np.append(np.ones(P), 0.0)[None, :])
    result = _lp(c, A_ub=a_ub, b_ub=-fixed, A_eq=a_eq, b_eq=[1.0], bounds=[(0, None)] * (P + 1))
    weights = np.where(result.x[:P] > 1e-12, result.x[:P], 0.0)
    return weights / weights.sum()
