"""How the outcome rules group ballots and count supporters (rules_common.ballot_groups and the
two ways equal_shares counts supporters per state), and the public names of rules.py, which
is split into modules. The rules' results themselves are checked in tests/test_pabulib.py."""
from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from node.components.budgets import rules
from node.components.budgets.pabulib import load, parse
from node.components.budgets.rules import _EqualShares, ballot_groups, outcome, scores, utilities

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pabulib"
DATA = SHARED if SHARED.is_dir() else Path(__file__).resolve().parent / "data" / "pabulib"


def election(vote_type: str, header: str, rows: list[str]):
    return parse(f"META\nkey;value\nbudget;10\nvote_type;{vote_type}\nPROJECTS\nproject_id;cost\n"
                 f"a;4\nb;5\nc;6\nVOTES\n{header}\n" + "\n".join(rows) + "\n")


def test_the_same_approvals_written_in_another_order_are_one_group_in_file_order():
    e = election("approval", "voter_id;vote", ["v1;a,b", "v2;c", "v3;b,a", "v4;a,b", "v5;", "v6;b,a"])
    groups = ballot_groups(e)
    assert groups == [({"a": 1, "b": 1}, ["v1", "v3", "v4", "v6"]), ({"c": 1}, ["v2"]), ({}, ["v5"])]
    assert scores(e) == {"a": 4, "b": 4, "c": 1}


def test_ordinal_order_matters_and_zero_points_are_no_support():
    ordinal = election("ordinal", "voter_id;vote", ["1;a,b", "2;b,a", "3;a,b"])
    assert ballot_groups(ordinal) == [({"a": 2, "b": 1}, ["1", "3"]), ({"b": 2, "a": 1}, ["2"])]
    cumulative = election("cumulative", "voter_id;vote;points", ["1;a,b;2,0", "2;a;2", "3;a,b;1.5,0.5"])
    groups = ballot_groups(cumulative)
    assert groups == [({"a": 2}, ["1", "2"]), ({"a": Fraction(3, 2), "b": Fraction(1, 2)}, ["3"])]
    assert scores(cumulative) == {"a": Fraction(11, 2), "b": Fraction(1, 2), "c": 0}
    assert all(isinstance(value, Fraction) for value in scores(cumulative).values())


def test_groups_hold_every_ballot_as_utilities_give_it():
    e = load(DATA / "Poland_Czestochowa_2024_Bleszno.pb")
    by_voter = {voter: given for given, voters in ballot_groups(e) for voter in voters}
    assert len(by_voter) == len(e.votes)
    assert [by_voter[vote.voter_id] for vote in e.votes] == utilities(e)


def counted_the_other_way(mes: _EqualShares) -> _EqualShares:
    """Switch every project's supporters between (type, voters) pairs and one type per voter."""
    for project_id, entries in mes.voter_types.items():
        mes.voter_types[project_id] = [
            (u, [t for t, n in pairs for _ in range(n)], None) if types is None
            else (u, None, list(Counter(types).items())) for u, types, pairs in entries]
    return mes


@pytest.mark.parametrize("name", ["Poland_Wroclaw_2016_Rejon_nr_7_750.pb", "Netherlands_Assen_2024.pb",
                                  "Poland_Czestochowa_2024_Bleszno.pb", "Switzerland_Zurich_S5R.pb",
                                  "Poland_Gdynia_2022_Redlowo__small.pb"])
def test_counting_supporters_per_ballot_type_or_per_voter_gives_the_same_outcome(name):
    e = load(DATA / name)
    usual, other = _EqualShares(e), counted_the_other_way(_EqualShares(e))

    def by_pairs(mes):
        return [types is None for entries in mes.voter_types.values() for _, types, _ in entries]

    assert by_pairs(other) == [not flag for flag in by_pairs(usual)]
    per_voter, run, _ = usual.add1()
    theirs_per_voter, theirs_run, _ = other.add1()
    assert (theirs_per_voter, theirs_run.selected) == (per_voter, run.selected)
    mine, theirs = usual.run(per_voter, explain=True), other.run(per_voter, explain=True)
    assert mine.selected == theirs.selected
    assert {p: vars(r) for p, r in mine.results.items()} == {p: vars(r) for p, r in theirs.results.items()}


def test_the_wroclaw_choose_1_file_counts_its_17_ballot_types_not_its_4677_voters():
    mes = _EqualShares(load(DATA / "Poland_Wroclaw_2016_Rejon_nr_7_750.pb"))
    assert mes.voters == 4677 and len(mes.type_voters) == 17
    assert all(types is None for entries in mes.voter_types.values() for _, types, _ in entries)


def test_rules_keeps_its_public_names():
    for name in ("RULES", "SELECTED", "DOES_NOT_FIT", "AFTER_STOP", "BELOW_THRESHOLD", "NO_SUPPORT", "UNAFFORDABLE",
                 "RuleError", "ProjectResult", "Outcome", "outcome", "greedy", "equal_shares",
                 "equal_shares_with_comparison", "utilities", "scores", "natural_key", "_EqualShares"):
        assert hasattr(rules, name), name
    e = election("approval", "voter_id;vote", ["1;a,b", "2;b", "3;c,a"])
    assert outcome(e, "greedy").selected == rules.greedy(e).selected
    assert isinstance(outcome(e, "equalshares/add1"), rules.Outcome)
