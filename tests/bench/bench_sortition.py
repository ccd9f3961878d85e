"""LEXIMIN panel selection (issue 8, Benchmark): the published example_small_20 (200 respondents,
panel of 20) and a generated pool of 2,000 respondents, panel of 200, 2 quota categories (the
shape of Flanigan et al.'s example_large, which took a median 1,161.8 s with Gurobi).

Per instance, one JSON line:
- `seconds`: `select_panel(..., algorithm="leximin")` as `civicnode sortition panel` runs it
  (read the CSV files, check the quotas, LEXIMIN, draw), SciPy already imported (`import_s`);
- `min_probability` of that result, from its published distribution (panels that are checked
  against the quotas here), and `optimum`: the leximin minimum over the linear relaxation of
  the quotas on profile counts (optimum.py). The relaxation can only do better than any
  distribution over panels, so `gap_pp` = (optimum − min_probability) in percentage points
  bounds how far the result is from optimal; with 2 categories the relaxation is exact;
- the baseline of the same run: the column generation (the algorithm LEXIMIN uses with more
  than 2 categories, forced here), its time and minimum, and the largest difference between
  the two allocations.
Goal: under 60 s, and within 0.1 percentage point of the optimum.

The generated pool is the same on every run (fixed seed): volunteers skewed against the
population (more men, more older people), quotas = population share × 200 ± 5 % of 200.
"""
from __future__ import annotations

import csv
import importlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

GOAL_S = 60.0
GOAL_GAP_PP = 0.1
SEED = 20210804  # the day Flanigan et al. appeared in Nature

POPULATION = {"gender": {"female": 0.51, "male": 0.47, "other": 0.02},
              "age": {"16-24": 0.14, "25-34": 0.16, "35-44": 0.16, "45-54": 0.17, "55-64": 0.16, "65+": 0.21}}
VOLUNTEERS = {"gender": {"female": 0.44, "male": 0.54, "other": 0.02},
              "age": {"16-24": 0.06, "25-34": 0.11, "35-44": 0.15, "45-54": 0.19, "55-64": 0.22, "65+": 0.27}}


def example_dir() -> Path:
    shared = REPO.parent / "shared" / "data" / "sortition" / "example_small_20"
    return shared if shared.is_dir() else REPO / "tests" / "data" / "sortition" / "example_small_20"


def generate(directory: Path, respondents: int = 2000, size: int = 200, seed: int = SEED) -> tuple[Path, Path]:
    """categories.csv and respondents.csv of the generated instance, in `directory`."""
    rng = random.Random(seed)
    categories, people = directory / "categories.csv", directory / "respondents.csv"
    with open(categories, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["category", "feature", "min", "max"])
        for category, shares in POPULATION.items():
            for feature, share in shares.items():
                out.writerow([category, feature, max(0, round(size * (share - 0.05))), round(size * (share + 0.05))])
    with open(people, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["id", *VOLUNTEERS])
        for i in range(respondents):
            out.writerow([f"r{i:04d}", *(rng.choices(list(shares), weights=list(shares.values()))[0]
                                        for shares in VOLUNTEERS.values())])
    return categories, people


def check_distribution(result: dict, categories: Path) -> float:
    """Every panel of the published distribution meets the quotas; returns the smallest
    probability that distribution gives (per profile: expected members / respondents)."""
    with open(categories, newline="", encoding="utf-8") as handle:
        quotas = list(csv.DictReader(handle))
    profiles = result["profiles"]
    expected = [0.0] * len(profiles)
    for entry in result["distribution"]:
        counts = entry["counts"]
        if sum(counts) != result["size"]:
            raise AssertionError(f"a panel of {sum(counts)}, not {result['size']}")
        for quota in quotas:
            have = sum(n for n, p in zip(counts, profiles) if p["features"][quota["category"]] == quota["feature"])
            if not int(quota["min"]) <= have <= int(quota["max"]):
                raise AssertionError(f"a panel has {have} {quota['category']}={quota['feature']}")
        for t, n in enumerate(counts):
            expected[t] += entry["probability"] * n
    return min(e / p["respondents"] for e, p in zip(expected, profiles))


def bench(name: str, categories: Path, respondents: Path, size: int) -> dict:
    from node.components.sortitions import leximin as leximin_module
    from node.components.sortitions.optimum import exact, relaxed_leximin
    from node.components.sortitions.panel import select_panel
    from node.components.sortitions.pool import read_pool
    from node.components.sortitions.quotas import Model, check_quotas

    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = select_panel(categories, respondents, size, algorithm="leximin", seed="bench")
    seconds = time.perf_counter() - started
    achieved = check_distribution(result, categories)

    pool = read_pool(categories, respondents)
    model = Model(pool, size)
    check_quotas(model)
    started = time.perf_counter()
    optimum = relaxed_leximin(model)
    optimum_s = time.perf_counter() - started
    started = time.perf_counter()
    panels, weights = leximin_module.leximin(model)
    leximin_s = time.perf_counter() - started
    fast = [sum(w * p[t] for p, w in zip(panels, weights)) / model.counts[t] for t in range(len(model.counts))]

    leximin_module.exact = lambda model: False  # the column generation, as with 3 categories or more
    try:
        started = time.perf_counter()
        panels, weights = leximin_module.leximin(model)
        baseline_s = time.perf_counter() - started
    finally:
        leximin_module.exact = exact
    baseline = [sum(w * p[t] for p, w in zip(panels, weights)) / model.counts[t] for t in range(len(model.counts))]

    gap_pp = (float(optimum.min()) - result["min_probability"]) * 100
    return {
        "benchmark": f"sortition_leximin_{name}", "respondents": pool.size, "size": size,
        "categories": len(pool.categories), "profiles": len(pool.profiles),
        "seconds": round(seconds, 3), "leximin_s": round(leximin_s, 3), "goal_s": GOAL_S,
        "min_probability": round(result["min_probability"], 9), "distribution_min": round(achieved, 9),
        "optimum": round(float(optimum.min()), 9), "optimum_s": round(optimum_s, 4), "exact_optimum": exact(model),
        "gap_pp": round(gap_pp, 7), "goal_gap_pp": GOAL_GAP_PP, "panels": len(result["distribution"]),
        "column_generation_s": round(baseline_s, 3), "column_generation_min": round(min(baseline), 9),
        "max_difference": float(f"{max(abs(a - b) for a, b in zip(fast, baseline)):.3g}"),
        "ok": seconds < GOAL_S and gap_pp <= GOAL_GAP_PP and abs(achieved - result["min_probability"]) < 1e-9,
        "load": round(load, 2), "cpus": os.cpu_count(),
    }


def main() -> int:
    started = time.perf_counter()
    importlib.import_module("scipy.optimize")  # timed apart: `civicnode sortition panel` pays it once
    import_s = time.perf_counter() - started
    example = example_dir()
    print(json.dumps({**bench("example_small_20", example / "categories.csv", example / "respondents.csv", 20),
                      "import_s": round(import_s, 2)}), flush=True)
    with tempfile.TemporaryDirectory(prefix="civicnode-bench-") as tmp:
        categories, respondents = generate(Path(tmp))
        print(json.dumps(bench("generated_2000", categories, respondents, 200)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
