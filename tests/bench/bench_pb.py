"""The Method of Equal Shares with the add1 completion on the largest Pabulib file (by number of
ballots), computed by civicnode and by pabutools in the same run (issue 7, Benchmark).

Data: ../shared/data/pabulib beside the checkout, else the copy in tests/data/pabulib (as
tests/test_pabulib.py). Each side starts from its own parsed election (parsing is timed apart):

- civicnode: `rules.outcome(election, "equalshares/add1")`, which includes grouping the
  ballots and the explanations (who paid what).
- pabutools: `method_of_equal_shares(..., voter_budget_increment=1)` on a multiprofile (its
  fastest input: identical ballots counted once; on a plain profile it is far slower), with
  Cost_Sat for approval and choose-1 ballots, Additive_Cardinal_Sat otherwise, and our
  tie-breaking (tests/test_pabulib.py). The goal compares with the MES call alone, the
  multiprofile built beforehand; `pabutools_with_grouping_s` adds building it.

Each side runs interleaved with the other, `repeats` times, each time after a garbage collection
and with the collector off (as timeit), and the medians are compared (the machine is shared:
`load` is the 1-minute load average when the timing started).
Goal: the same selected projects, and civicnode at least 5 times faster.

    python tests/bench/bench_pb.py [FILE.pb ...]     # default: the largest file
"""
from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from node.components.budgets import pabulib, rules  # noqa: E402

GOAL_RATIO = 5.0
# Repeat until pabutools has run this long in all, at least MIN_REPEATS and at most MAX_REPEATS.
TARGET_S = 2.0
MIN_REPEATS, MAX_REPEATS = 5, 100


def data_dir() -> Path:
    shared = REPO.parent / "shared" / "data" / "pabulib"
    return shared if shared.is_dir() else REPO / "tests" / "data" / "pabulib"


def largest(directory: Path) -> Path:
    return max(sorted(directory.glob("*.pb")), key=lambda path: len(pabulib.load(path).votes))


def timed(function, collect: bool = True):
    """Seconds and result of function(), without garbage collection while it runs (as timeit
    does: otherwise one side pays for collecting the other's objects)."""
    if collect:
        gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        result = function()
        return time.perf_counter() - started, result
    finally:
        gc.enable()


def pabutools_side(path: Path, election: pabulib.Election):
    """(prepare, run): building the multiprofile, and the add1 MES on a prepared one."""
    from pabutools.election import Additive_Cardinal_Sat, CardinalBallot, CardinalProfile, Cost_Sat, parse_pabulib
    from pabutools.rules import method_of_equal_shares
    from pabutools.tiebreaking import TieBreakingRule

    instance, profile = parse_pabulib(str(path))
    approval = type(profile).__name__ == "ApprovalProfile"
    if type(profile).__name__ == "OrdinalProfile":  # k..1 points, as rules.py counts ranks
        profile = CardinalProfile([CardinalBallot({p: len(b) - b.position(p) for p in b}) for b in profile])
    score = rules.scores(election)
    ties = TieBreakingRule(lambda i, p, project: (project.cost, -score[project.name], rules.natural_key(project.name)))
    sat = Cost_Sat if approval else Additive_Cardinal_Sat

    def run(multi):
        chosen = method_of_equal_shares(instance, multi, sat_class=sat, voter_budget_increment=1, tie_breaking=ties)
        return {p.name for p in chosen}

    return profile.as_multiprofile, run


def bench(path: Path) -> dict:
    parse_s, election = timed(lambda: pabulib.load(path))
    from pabutools.election import parse_pabulib

    pabutools_parse_s, _ = timed(lambda: parse_pabulib(str(path)))
    prepare, run = pabutools_side(path, election)
    load = os.getloadavg()[0]
    ours, theirs, grouping = [], [], []
    mine = reference = None
    while len(ours) < MIN_REPEATS or (len(ours) < MAX_REPEATS and sum(theirs) < TARGET_S):
        seconds, result = timed(lambda: rules.outcome(election, "equalshares/add1"))
        ours.append(seconds)
        mine = set(result.selected)
        seconds, multi = timed(prepare)
        grouping.append(seconds)
        seconds, reference = timed(lambda: run(multi), collect=False)
        theirs.append(seconds)
    civicnode_s, pabutools_s = statistics.median(ours), statistics.median(theirs)
    with_grouping_s = statistics.median(g + t for g, t in zip(grouping, theirs))
    ratio = pabutools_s / civicnode_s
    identical = mine == reference
    return {
        "benchmark": "pb_mes_add1", "file": path.name, "vote_type": election.vote_type,
        "ballots": len(election.votes), "projects": len(election.projects),
        "civicnode_s": round(civicnode_s, 5), "pabutools_s": round(pabutools_s, 5),
        "pabutools_with_grouping_s": round(with_grouping_s, 5),
        "civicnode_min_s": round(min(ours), 5), "pabutools_min_s": round(min(theirs), 5),
        "ratio": round(ratio, 2), "ratio_with_grouping": round(with_grouping_s / civicnode_s, 2),
        "goal_ratio": GOAL_RATIO, "identical": identical, "ok": identical and ratio >= GOAL_RATIO,
        "selected": len(mine), "repeats": len(ours),
        "parse_s": round(parse_s, 4), "pabutools_parse_s": round(pabutools_parse_s, 4),
        "load": round(load, 2), "cpus": os.cpu_count(),
    }


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [largest(data_dir())]
    for path in paths:
        print(json.dumps(bench(path)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
