"""Stratified panel selection (`civicnode sortition panel`): LEXIMIN and LEGACY on the published
instance example_small_20 (Flanigan et al., Nature 2021, replication package: pool of 200, panel
of 20; copied into tests/data/sortition/ from ../shared/data), quota checks, the seeded draw."""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from node.cli import main
from node.components.sortitions.panel import PanelError, select_panel

EXAMPLE = Path(__file__).parent / "data" / "sortition" / "example_small_20"
CATEGORIES = EXAMPLE / "categories.csv"
RESPONDENTS = EXAMPLE / "respondents.csv"


def rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def assert_meets_quotas(panel_ids, categories=CATEGORIES, respondents=RESPONDENTS):
    people = rows(respondents)
    by_id = {row["id"]: row for row in people} if "id" in people[0] else dict(enumerate(people))
    assert len(set(panel_ids)) == len(panel_ids)
    chosen = [by_id[i] for i in panel_ids]
    for quota in rows(categories):
        count = sum(person[quota["category"]] == quota["feature"] for person in chosen)
        assert int(quota["min"]) <= count <= int(quota["max"]), (quota, count)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- LEXIMIN and LEGACY on the published instance -------------------------------------------

def test_leximin_gives_everyone_k_over_n():
    result = select_panel(CATEGORIES, RESPONDENTS, 20, seed="assembly-2027")
    # The published figure: LEXIMIN minimum selection probability 10.0 % = k/n, for everyone.
    assert result["min_probability"] == pytest.approx(0.10, abs=1e-6)
    probabilities = result["probabilities"]
    assert set(probabilities) == {str(i) for i in range(200)}
    assert all(p == pytest.approx(0.10, abs=1e-6) for p in probabilities.values())
    assert sum(probabilities.values()) == pytest.approx(20, abs=1e-6)
    assert len(result["panel"]) == 20
    assert_meets_quotas(result["panel"])
    # Every panel the distribution can draw meets the quotas too.
    profiles = result["profiles"]
    assert sum(p["respondents"] for p in profiles) == 200
    assert sum(d["probability"] for d in result["distribution"]) == pytest.approx(1)
    for entry in result["distribution"]:
        assert sum(entry["counts"]) == 20
        for quota in rows(CATEGORIES):
            count = sum(n for n, profile in zip(entry["counts"], profiles)
                        if profile["features"][quota["category"]] == quota["feature"])
            assert int(quota["min"]) <= count <= int(quota["max"])


def test_legacy_leaves_the_lone_conservative_woman_far_below():
    result = select_panel(CATEGORIES, RESPONDENTS, 20, algorithm="legacy", seed="assembly-2027", runs=2000)
    assert_meets_quotas(result["panel"])
    probabilities = result["probabilities"]
    assert sum(probabilities.values()) == pytest.approx(20, abs=1e-6)
    # Published: LEGACY's minimum ≤ 1.21 % (0.96 % in 10,000 runs): respondent 0, the only
    # conservative woman, whom the greedy algorithm rarely reaches.
    assert result["min_probability"] < 0.05
    assert min(probabilities, key=probabilities.get) == "0"
    assert result["runs"] == 2000


@pytest.mark.parametrize("algorithm", ["leximin", "legacy"])
def test_the_same_seed_gives_the_same_panel(algorithm):
    def draw(seed):
        return select_panel(CATEGORIES, RESPONDENTS, 20, algorithm=algorithm, seed=seed, runs=50)

    first = draw("lottery 2027-05-01: 4 8 15 16 23 42")
    assert draw("lottery 2027-05-01: 4 8 15 16 23 42") == first
    assert first["seed"] == "lottery 2027-05-01: 4 8 15 16 23 42"
    assert len({tuple(draw(f"seed {n}")["panel"]) for n in range(5)}) > 1


def test_without_a_seed_a_random_one_is_chosen_and_printed():
    first = select_panel(CATEGORIES, RESPONDENTS, 20)
    second = select_panel(CATEGORIES, RESPONDENTS, 20)
    assert len(first["seed"]) == 32 and first["seed"] != second["seed"]
    assert select_panel(CATEGORIES, RESPONDENTS, 20, seed=first["seed"])["panel"] == first["panel"]


def test_anyone_can_redo_the_draw_from_the_published_distribution():
    """The draw as docs/ARCHITECTURE.md describes it, written again from the text."""
    seed = "verifiable"
    result = select_panel(CATEGORIES, RESPONDENTS, 20, seed=seed)
    counter = itertools.count()

    def number():
        text = f"civicnode-sortition:leximin-draw:{seed}:{next(counter)}"
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")

    def below(m):
        while (value := number()) >= 2**64 - 2**64 % m:
            pass
        return value % m

    u = (number() >> 11) / 2**53
    total = 0.0
    for entry in result["distribution"]:  # already in canonical order: sorted by counts
        total += entry["probability"]
        if u < total:
            break
    members = [[i for i, row in enumerate(rows(RESPONDENTS))
                if all(row[c] == f for c, f in profile["features"].items())]
               for profile in result["profiles"]]
    chosen = []
    for count, pool in zip(entry["counts"], members):
        for j in range(count):
            k = j + below(len(pool) - j)
            pool[j], pool[k] = pool[k], pool[j]
        chosen += pool[:count]
    assert sorted(chosen) == result["panel"]
    assert [d["counts"] for d in result["distribution"]] == sorted(d["counts"] for d in result["distribution"])


# --- LEXIMIN against a brute force on small pools ---------------------------------------------

def brute_leximin(counts, panels):
    """Textbook leximin over all panels: maximise the smallest unfixed probability z, then fix
    every profile that cannot rise above z while the others keep theirs."""
    from scipy.optimize import linprog

    T, P = len(counts), len(panels)
    cover = np.array(panels, dtype=float).T / np.array(counts, dtype=float)[:, None]
    fixed = {}

    def solve(objective, floor_unfixed):
        rows_, rhs = [], []
        for t in range(T):
            if t in fixed:
                rows_.append(np.append(-cover[t], 0.0))
                rhs.append(-fixed[t] + 1e-9)
            elif floor_unfixed is None:
                rows_.append(np.append(-cover[t], 1.0))
                rhs.append(0.0)
            else:
                rows_.append(np.append(-cover[t], 0.0))
                rhs.append(-floor_unfixed + 1e-9)
        result = linprog(objective, A_ub=np.array(rows_), b_ub=rhs, A_eq=[[1.0] * P + [0.0]], b_eq=[1.0],
                         bounds=[(0, None)] * P + [(None, None)], method="highs")
        assert result.status == 0
        return -result.fun

    while len(fixed) < T:
        z = solve(np.append(np.zeros(P), -1.0), None)
        stuck = [t for t in range(T) if t not in fixed
                 and solve(np.append(-cover[t], 0.0), z) < z + 1e-7]
        assert stuck
        for t in stuck:
            fixed[t] = z
    return [fixed[t] for t in range(T)]


def random_instance(rng: random.Random, tmp_path: Path):
    categories = {f"c{c}": [f"f{c}{v}" for v in range(rng.choice([2, 3]))] for c in range(rng.choice([2, 3]))}
    n, k = rng.randint(6, 11), rng.randint(2, 5)
    people = [{c: rng.choice(fs) for c, fs in categories.items()} for _ in range(n)]
    lines = ["category,feature,min,max"]
    for c, fs in categories.items():
        for f in fs:
            have = sum(p[c] == f for p in people)
            low = rng.randint(0, min(have, 2))
            lines.append(f"{c},{f},{low},{low + rng.randint(0, 3)}")
    write(tmp_path / "categories.csv", "\n".join(lines) + "\n")
    write(tmp_path / "respondents.csv", ",".join(categories) + "\n"
          + "".join(",".join(p[c] for c in categories) + "\n" for p in people))
    return tmp_path / "categories.csv", tmp_path / "respondents.csv", k


def test_leximin_matches_a_brute_force_on_small_pools(tmp_path):
    from node.components.sortitions.leximin import leximin
    from node.components.sortitions.pool import read_pool
    from node.components.sortitions.quotas import Model, check_quotas

    rng = random.Random(2021)
    compared = 0
    while compared < 12:
        categories, respondents, k = random_instance(rng, tmp_path)
        pool = read_pool(categories, respondents)
        model = Model(pool, k)
        try:
            check_quotas(model)
        except PanelError:
            continue
        every_panel = [x for x in itertools.product(*(range(n + 1) for n in pool.counts()))
                       if sum(x) == k and np.all(model.lows <= model.incidence @ x)
                       and np.all(model.incidence @ x <= model.highs)]
        panels, weights = leximin(model)
        ours = (np.array(panels).T @ weights) / model.counts
        assert np.sort(ours) == pytest.approx(np.sort(brute_leximin(pool.counts(), every_panel)), abs=1e-6)
        # Same vector, not only the same sorted values: the leximin allocation is unique.
        assert ours == pytest.approx(brute_leximin(pool.counts(), every_panel), abs=1e-6)
        compared += 1


# --- quotas that no panel can meet -------------------------------------------------------------

def test_minimums_adding_up_to_more_than_the_panel_are_named(tmp_path):
    categories = write(tmp_path / "c.csv", "category,feature,min,max\ngender,female,12,20\ngender,male,12,20\n"
                                           "leaning,liberal,0,20\nleaning,conservative,0,20\n")
    with pytest.raises(PanelError, match="the minimums of gender add up to 24, more than the panel size 20"):
        select_panel(categories, RESPONDENTS, 20)


def test_maximums_below_the_panel_size_are_named(tmp_path):
    categories = write(tmp_path / "c.csv", "category,feature,min,max\ngender,female,0,20\ngender,male,0,20\n"
                                           "leaning,liberal,0,5\nleaning,conservative,0,5\n")
    with pytest.raises(PanelError, match="at most 10 respondents can be chosen for leaning"):
        select_panel(categories, RESPONDENTS, 20)


def test_a_feature_with_too_few_respondents_is_named(tmp_path):
    categories = write(tmp_path / "c.csv", "category,feature,min,max\ngender,female,0,20\ngender,male,0,20\n"
                                           "leaning,liberal,0,20\nleaning,conservative,0,20\nleaning,green,2,5\n")
    with pytest.raises(PanelError, match="leaning=green needs at least 2 but only 0 respondents have it"):
        select_panel(categories, RESPONDENTS, 20)


def test_categories_whose_quotas_conflict_together_are_named(tmp_path):
    # Each category alone is satisfiable; together they are not: 99 of the 100 women are liberal.
    categories = write(tmp_path / "c.csv", "category,feature,min,max\ngender,female,15,20\ngender,male,0,20\n"
                                           "leaning,liberal,0,5\nleaning,conservative,0,20\n")
    for algorithm in ("leximin", "legacy"):
        with pytest.raises(PanelError) as caught:
            select_panel(categories, RESPONDENTS, 20, algorithm=algorithm)
        message = str(caught.value)
        assert "the quotas of gender and leaning cannot be met together by a panel of 20" in message
        # Only the bounds that conflict, not every quota of the two categories.
        assert "gender=female min 15" in message and "leaning=liberal max 5" in message
        assert "male" not in message.replace("female", "") and "conservative" not in message


def test_the_smallest_conflicting_set_of_categories_is_named(tmp_path):
    write(tmp_path / "c.csv", "category,feature,min,max\na,x,2,3\na,y,0,3\nb,x,0,3\nb,y,0,3\nc,x,0,1\nc,y,0,3\n")
    # Everyone with a=x also has c=x: a and c conflict, b has nothing to do with it.
    write(tmp_path / "r.csv", "a,b,c\nx,x,x\nx,y,x\ny,x,y\ny,y,y\ny,x,y\n")
    with pytest.raises(PanelError) as caught:
        select_panel(tmp_path / "c.csv", tmp_path / "r.csv", 3)
    assert "the quotas of a and c cannot be met together" in str(caught.value)
    assert "a=x min 2" in str(caught.value) and "c=x max 1" in str(caught.value)
    assert "b=" not in str(caught.value)


@pytest.mark.parametrize("size, message", [
    (201, "the panel size 201 is larger than the pool of 200 respondents"),
    (0, "the panel size must be at least 1"),
])
def test_a_panel_size_the_pool_cannot_give(size, message):
    with pytest.raises(PanelError, match=message):
        select_panel(CATEGORIES, RESPONDENTS, size)


# --- bad files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("category,feature,minimum,max\ngender,female,1,2\n", "must have the columns category, feature, min, max"),
    ("category,feature,min,max\ngender,female,nine,20\n", "line 2: min 'nine' is not a whole number"),
    ("category,feature,min,max\ngender,female,-1,20\n", "line 2: min -1 is negative"),
    ("category,feature,min,max\ngender,female,9,20\ngender,male,12,10\n", "line 3: gender=male has min 12 greater than max 10"),
    ("category,feature,min,max\ngender,female,9,20\ngender,female,9,20\n", "line 3: gender=female is listed twice"),
    ("category,feature,min,max\n", "lists no category"),
    ("", "must have the columns"),
])
def test_bad_categories_files(tmp_path, text, message):
    with pytest.raises(PanelError, match=message):
        select_panel(write(tmp_path / "categories.csv", text), RESPONDENTS, 20)


@pytest.mark.parametrize("text, message", [
    ("gender\nfemale\n", "respondents.csv has no column for the category leaning"),
    ("gender,leaning\nfemale,liberal\nfemale,green\n",
     "respondents.csv line 3: leaning has 'green', which is not a feature listed in the categories file "
     r"\(liberal, conservative\)"),
    ("gender,leaning\nfemale,\n", "line 2: leaning has an empty value"),
    ("id,gender,leaning\na,female,liberal\na,male,liberal\n", "line 3: the id 'a' is used twice"),
    ("gender,leaning\n", "lists no respondent"),
])
def test_bad_respondents_files(tmp_path, text, message):
    with pytest.raises(PanelError, match=message):
        select_panel(CATEGORIES, write(tmp_path / "respondents.csv", text), 1)


def test_missing_file_and_unknown_algorithm(tmp_path):
    with pytest.raises(PanelError, match="respondents file not found: .*nowhere.csv"):
        select_panel(CATEGORIES, tmp_path / "nowhere.csv", 20)
    with pytest.raises(PanelError, match="unknown algorithm 'greedy'"):
        select_panel(CATEGORIES, RESPONDENTS, 20, algorithm="greedy")
    with pytest.raises(PanelError, match="the number of LEGACY runs must be between 1 and"):
        select_panel(CATEGORIES, RESPONDENTS, 20, algorithm="legacy", runs=0)


def test_an_id_column_names_the_respondents_and_other_columns_are_ignored(tmp_path):
    people = rows(RESPONDENTS)
    respondents = write(tmp_path / "people.csv", "\ufeffname,id,gender,leaning\n" + "".join(
        f"Person {i},P-{i:03d},{p['gender']},{p['leaning']}\n" for i, p in enumerate(people)))
    result = select_panel(CATEGORIES, respondents, 20, seed="x")
    assert all(isinstance(i, str) and i.startswith("P-") for i in result["panel"])
    assert set(result["probabilities"]) == {f"P-{i:03d}" for i in range(200)}
    assert_meets_quotas(result["panel"], respondents=respondents)
    assert "Person" not in json.dumps(result)


# --- the command ---------------------------------------------------------------------------------

def test_cli_prints_the_panel_and_the_probabilities_as_json(capsys):
    assert main(["sortition", "panel", "--categories", str(CATEGORIES), "--respondents", str(RESPONDENTS),
                 "--size", "20", "--seed", "42"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"panel", "probabilities", "min_probability", "seed", "algorithm"} <= set(result)
    assert result["algorithm"] == "leximin" and result["seed"] == "42"
    assert len(result["panel"]) == 20 and all(isinstance(i, int) for i in result["panel"])
    assert len(result["probabilities"]) == 200
    assert result["min_probability"] == pytest.approx(0.1, abs=1e-6)
    assert result == select_panel(CATEGORIES, RESPONDENTS, 20, seed="42")

    assert main(["sortition", "panel", "--categories", str(CATEGORIES), "--respondents", str(RESPONDENTS),
                 "--size", "20", "--seed", "42", "--algorithm", "legacy", "--runs", "300"]) == 0
    legacy = json.loads(capsys.readouterr().out)
    assert legacy["algorithm"] == "legacy" and legacy["runs"] == 300
    assert_meets_quotas(legacy["panel"])


def test_cli_errors_are_one_line(tmp_path, capsys):
    categories = write(tmp_path / "c.csv", "category,feature,min,max\ngender,female,15,20\ngender,male,0,20\n"
                                           "leaning,liberal,0,5\nleaning,conservative,0,20\n")
    assert main(["sortition", "panel", "--categories", str(categories), "--respondents", str(RESPONDENTS),
                 "--size", "20"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("civicnode: error: the quotas of gender and leaning cannot be met together")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
