"""The leximin of the quotas' linear relaxation on profile counts (optimum.py): exact with two
categories, an upper bound with more; LEXIMIN's two-category path built on it (a few LPs and a
Carathéodory decomposition into panels) against the column generation and a brute force."""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from node.components.sortitions import leximin as leximin_module
from node.components.sortitions.optimum import decompose, exact, relaxed_leximin
from node.components.sortitions.pool import PanelError, read_pool
from node.components.sortitions.quotas import Model, check_quotas
from tests.bench.bench_sortition import generate
from tests.test_sortition_panel import CATEGORIES, RESPONDENTS, brute_leximin, write


def probabilities(model, panels, weights) -> np.ndarray:
    return (np.array(panels, dtype=float).T @ weights) / model.counts


def column_generation(model):
    """LEXIMIN as it runs with three categories or more, whatever the number of categories."""
    saved = leximin_module.exact
    leximin_module.exact = lambda model: False
    try:
        return leximin_module.leximin(model)
    finally:
        leximin_module.exact = saved


def meets_quotas(model, panel) -> bool:
    quota = model.incidence @ panel
    return (panel.sum() == model.k and np.all(panel >= 0) and np.all(panel <= model.counts)
            and np.all(model.lows <= quota) and np.all(quota <= model.highs))


def test_the_profile_optimum_of_example_small_20_is_k_over_n_as_leximin_finds():
    model = Model(read_pool(CATEGORIES, RESPONDENTS), 20)
    check_quotas(model)
    assert exact(model)
    optimum = relaxed_leximin(model)
    assert optimum == pytest.approx([0.1] * len(model.counts), abs=1e-9)
    assert probabilities(model, *column_generation(model)) == pytest.approx(optimum, abs=1e-6)
    assert probabilities(model, *leximin_module.leximin(model)) == pytest.approx(optimum, abs=1e-6)


def small_instance(rng: random.Random, tmp_path, categories: int):
    features = {f"c{c}": [f"f{c}{v}" for v in range(rng.choice([2, 3]))] for c in range(categories)}
    n, k = rng.randint(6, 11), rng.randint(2, 5)
    people = [{c: rng.choice(fs) for c, fs in features.items()} for _ in range(n)]
    lines = ["category,feature,min,max"]
    for c, fs in features.items():
        for f in fs:
            low = rng.randint(0, min(sum(p[c] == f for p in people), 2))
            lines.append(f"{c},{f},{low},{low + rng.randint(0, 3)}")
    write(tmp_path / "categories.csv", "\n".join(lines) + "\n")
    write(tmp_path / "respondents.csv", ",".join(features) + "\n"
          + "".join(",".join(p[c] for c in features) + "\n" for p in people))
    pool = read_pool(tmp_path / "categories.csv", tmp_path / "respondents.csv")
    model = Model(pool, k)
    check_quotas(model)
    every_panel = [x for x in itertools.product(*(range(n + 1) for n in pool.counts()))
                   if meets_quotas(model, np.array(x))]
    return model, every_panel


@pytest.mark.parametrize("categories", [1, 2])
def test_with_two_categories_or_fewer_the_relaxation_is_the_leximin_over_all_panels(tmp_path, categories):
    rng = random.Random(8 + categories)
    compared = 0
    while compared < 10:
        try:
            model, every_panel = small_instance(rng, tmp_path, categories)
        except PanelError:
            continue
        truth = brute_leximin(model.counts, every_panel)
        assert relaxed_leximin(model) == pytest.approx(truth, abs=1e-7)
        panels, weights = leximin_module.leximin(model)
        assert all(meets_quotas(model, p) for p in panels)
        assert len(panels) <= len(model.counts) + 1  # Carathéodory
        assert probabilities(model, panels, weights) == pytest.approx(truth, abs=1e-6)
        compared += 1


def test_with_three_categories_the_relaxation_bounds_every_distribution(tmp_path):
    rng = random.Random(3)
    compared = 0
    while compared < 12:
        try:
            model, every_panel = small_instance(rng, tmp_path, 3)
        except PanelError:
            continue
        assert not exact(model)
        truth = brute_leximin(model.counts, every_panel)
        assert relaxed_leximin(model).min() >= min(truth) - 1e-7
        # LEXIMIN itself does not use the relaxation here.
        assert probabilities(model, *leximin_module.leximin(model)) == pytest.approx(truth, abs=1e-6)
        compared += 1


def test_with_three_categories_the_relaxation_can_be_strictly_better_than_any_panel_gives(tmp_path):
    # Found by a random search: no quota-satisfying panel of 3 takes the (f01, f11, f21)
    # volunteer, yet the relaxation gives every profile a quarter of a seat's probability.
    categories = write(tmp_path / "categories.csv", "category,feature,min,max\nc0,f00,2,3\nc0,f01,0,1\n"
                       "c1,f10,2,3\nc1,f11,1,1\nc2,f20,2,2\nc2,f21,1,2\n")
    respondents = write(tmp_path / "respondents.csv", "c0,c1,c2\nf00,f11,f20\nf01,f11,f21\nf00,f11,f21\n"
                        "f00,f10,f20\nf00,f10,f21\nf01,f10,f20\nf01,f11,f20\n")
    model = Model(read_pool(categories, respondents), 3)
    check_quotas(model)
    assert relaxed_leximin(model).min() == pytest.approx(0.25, abs=1e-7)
    assert probabilities(model, *leximin_module.leximin(model)).min() == pytest.approx(0.0, abs=1e-7)


def test_the_generated_benchmark_pool_by_both_paths(tmp_path):
    categories, respondents = generate(tmp_path)
    again = tmp_path / "again"
    again.mkdir()
    assert generate(again)[1].read_text() == respondents.read_text()  # the same pool on every run
    model = Model(read_pool(categories, respondents), 200)
    check_quotas(model)
    assert model.pool.size == 2000 and len(model.pool.categories) == 2
    optimum = relaxed_leximin(model)
    panels, weights = leximin_module.leximin(model)
    assert all(meets_quotas(model, p) for p in panels) and len(panels) <= len(model.counts) + 1
    assert weights.sum() == pytest.approx(1) and np.all(weights >= 0)
    ours = probabilities(model, panels, weights)
    assert ours == pytest.approx(optimum, abs=1e-6)
    assert probabilities(model, *column_generation(model)) == pytest.approx(ours, abs=1e-6)
    # The volunteers are skewed against the quotas: nobody reaches k/n.
    assert ours.min() < 200 / 2000 - 0.001


def test_decompose_gives_panels_whose_hull_holds_the_point():
    model = Model(read_pool(CATEGORIES, RESPONDENTS), 20)
    check_quotas(model)
    point = relaxed_leximin(model) * model.counts
    panels = decompose(model, point)
    assert 1 <= len(panels) <= len(model.counts) + 1
    assert all(meets_quotas(model, p) for p in panels)
    from scipy.optimize import linprog

    hull = linprog(np.zeros(len(panels)), A_eq=np.vstack([np.array(panels, dtype=float).T, np.ones(len(panels))]),
                   b_eq=np.append(point, 1.0), bounds=[(0, None)] * len(panels), method="highs")
    assert hull.status == 0
