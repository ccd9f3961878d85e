"""Pabulib files and participatory-budgeting rules, checked against real elections.

Official outcomes: every shared file with a `selected` column, computed with its META rule.
pabutools (a test-only dependency) is the independent reference for greedy and the Method of
Equal Shares on every file. Its add1 completion re-runs MES once per unit of budget, which takes
minutes on the large files, so there it is checked at the points that decide our result: the
fixed-budget MES outcome at the starting budget, at our final per-voter budget (same projects)
and one unit above (over the budget, unless ours is exhaustive). On the small files pabutools'
whole add1 runs too.
"""
from __future__ import annotations

import functools
import json
from fractions import Fraction
from pathlib import Path

import pytest
from pabutools.election import (AdditiveSatisfaction, Additive_Cardinal_Sat, CardinalBallot, CardinalProfile,
                                Cardinality_Sat, Cost_Sat, parse_pabulib)
from pabutools.fractions import frac
from pabutools.rules import BudgetAllocation, greedy_utilitarian_welfare, method_of_equal_shares, popularity_comparison
from pabutools.rules.mes.mes_rule import method_of_equal_shares_scheme
from pabutools.tiebreaking import TieBreakingRule

from node.cli import main
from node.components.budgets import pabulib, rules
from node.components.budgets.pabulib import PabulibError, parse, write
from node.components.budgets.rules import _EqualShares, natural_key, outcome, scores

# The shared data when this checkout sits beside it (it may hold more elections), else the copy
# kept in tests/data/pabulib so that a clone elsewhere still checks the 19 shared ones.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pabulib"
DATA = SHARED if SHARED.is_dir() else Path(__file__).resolve().parent / "data" / "pabulib"
FILES = sorted(DATA.glob("*.pb"))
NAMES = [path.name for path in FILES]
OFFICIAL = [path.name for path in FILES if "selected" in pabulib.load(path).project_columns]
# pabutools' own add1 runs in a few seconds on these.
SMALL = ["Netherlands_Assen_2024.pb", "France_Toulouse_2022_6_-_Saint-Cyprien.pb", "Poland_Lodz_2023_Mileszki.pb",
         "Poland_Gdynia_2021_Pustki_Cisowskie-Demptowo__small.pb", "Poland_Gdynia_2022_Redlowo__small.pb",
         "Poland_Wroclaw_2016_Rejon_nr_7_750.pb", "Poland_Wroclaw_2017_Rejon_nr_8_250.pb"]


@functools.cache
def election(name: str) -> pabulib.Election:
    return pabulib.load(DATA / name)


@functools.cache
def add1(name: str) -> rules.Outcome:
    return outcome(election(name), "equalshares/add1")


def test_the_shared_elections_are_there():
    assert len(FILES) >= 19, f"expected the Pabulib files of ../shared/data/pabulib in {DATA}"
    assert len(OFFICIAL) == 16


# --- Official outcomes and published scores --------------------------------------------------

@pytest.mark.parametrize("name", OFFICIAL)
def test_the_file_rule_gives_the_official_outcome(name):
    e = election(name)
    official = {p.id for p in e.projects.values() if p.fields["selected"] == "1"}
    result = add1(name) if e.rule == "equalshares/add1" else outcome(e)
    assert set(result.selected) == official
    assert result.total_cost <= e.budget


@pytest.mark.parametrize("name", NAMES)
def test_scores_from_the_votes_match_the_published_columns(name):
    e = election(name)
    score = scores(e)
    approvals = dict.fromkeys(e.projects, 0)
    for vote in e.votes:
        for project_id in vote.projects:
            approvals[project_id] += 1
    for project in e.projects.values():
        if "votes" in project.fields:
            assert approvals[project.id] == int(project.fields["votes"]), project.id
        if "score" in project.fields:
            assert score[project.id] == Fraction(project.fields["score"]), project.id


# --- Parser -----------------------------------------------------------------------------------

SMALL_FILE = "\n".join([
    "META",
    "key;value",
    'description;"A test; with ""quotes"""',
    "num_projects;3",
    "num_votes;3",
    "budget;100.50",
    "vote_type;approval",
    "rule;greedy",
    "PROJECTS",
    "project_id;cost;name",
    'A;50;"Park; phase 2"',
    'B;50.5;"The ""big"" square"',
    "C;60;Library",
    "VOTES",
    "voter_id;vote;age",
    "1;A,B;30",
    "2;B;",
    "3;C,A;41",
    "",
])


def test_parses_sections_quotes_and_exact_numbers():
    e = parse(SMALL_FILE)
    assert e.meta["description"] == 'A test; with "quotes"'
    assert e.budget == Fraction("100.50") and e.vote_type == "approval" and e.rule == "greedy"
    assert [p.id for p in e.projects.values()] == ["A", "B", "C"]
    assert e.projects["B"].cost == Fraction(101, 2)
    assert e.projects["A"].fields["name"] == "Park; phase 2"
    assert e.projects["B"].fields["name"] == 'The "big" square'
    assert [v.projects for v in e.votes] == [("A", "B"), ("B",), ("C", "A")]
    assert e.votes[1].fields == {"age": ""}


def test_crlf_bom_and_bytes_read_the_same():
    crlf = ("\ufeff" + SMALL_FILE.replace("\n", "\r\n")).encode("utf-8")
    assert parse(crlf) == parse(SMALL_FILE)


def test_a_decimal_budget_stays_exact():
    e = election("Poland_Krakow_2024_Zwierzyniec.pb")
    assert e.budget == Fraction(215842719, 100)


def vote_file(vote_type: str, header: str, rows: list[str], extra_meta: str = "") -> str:
    return (f"META\nkey;value\nbudget;10\nvote_type;{vote_type}\n{extra_meta}PROJECTS\nproject_id;cost\n"
            f"a;4\nb;5\nc;6\nVOTES\n{header}\n" + "\n".join(rows) + "\n")


def test_each_vote_type():
    cumulative = parse(vote_file("cumulative", "voter_id;vote;points", ["1;a,b;3,2", "2;c;5", "3;;"]))
    assert [(v.projects, v.points) for v in cumulative.votes] == [
        (("a", "b"), (3, 2)), (("c",), (5,)), ((), ())]
    assert scores(cumulative) == {"a": 3, "b": 2, "c": 5}
    # Ordinal: k ranked projects get k, k-1, ..., 1 points.
    ordinal = parse(vote_file("ordinal", "voter_id;vote", ["1;c,a,b", "2;b"]))
    assert ordinal.votes[0].projects == ("c", "a", "b")
    assert scores(ordinal) == {"a": 2, "b": 2, "c": 3}
    choose = parse(vote_file("choose-1", "voter_id;vote", ["1;a", "2;a", "3;c"]))
    assert scores(choose) == {"a": 2, "b": 0, "c": 1}
    approval = parse(vote_file("approval", "voter_id;vote", ["1;a,b,c", "2;b"]))
    assert scores(approval) == {"a": 1, "b": 2, "c": 1}


@pytest.mark.parametrize("text, message", [
    ("PROJECTS\nproject_id;cost\n", "line 1, PROJECTS: PROJECTS where META was expected"),
    ("META\nkey;value\nbudget;10\nvote_type;approval\nPROJECTS\nproject_id;cost\na;1\n", "the VOTES section is missing"),
    (vote_file("approval", "voter_id;vote", ["1;a,z"]), "line 12, VOTES: voter '1' votes for project 'z', which is not in PROJECTS"),
    (vote_file("approval", "voter_id;vote", ["1;a,a"]), "line 12, VOTES: voter '1' names a project twice"),
    (vote_file("choose-1", "voter_id;vote", ["1;a,b"]), "line 12, VOTES: voter '1' chose 2 projects on a choose-1 ballot"),
    (vote_file("cumulative", "voter_id;vote;points", ["1;a,b;3"]), "line 12, VOTES: voter '1' has 2 projects but 1 points"),
    (vote_file("cumulative", "voter_id;vote;points", ["1;a;x"]), "line 12, VOTES: voter '1': points must be a number, not 'x'"),
    (vote_file("cumulative", "voter_id;vote", ["1;a"]), "line 11, VOTES: the header lacks the column 'points'"),
    (vote_file("approval", "voter_id;vote", ["1;a;extra"]), "line 12, VOTES: 3 fields where the header has 2"),
    (vote_file("approval", "voter_id;vote", ["1;a"], "num_votes;2\n"), "META num_votes is '2' but VOTES has 1 rows"),
    (vote_file("plurality", "voter_id;vote", ["1;a"]), "line 4, META: unknown vote_type 'plurality'"),
    (vote_file("approval", "voter_id;vote", ["1;a"]).replace("budget;10", "budget;ten"),
     "line 3, META: budget must be a number, not 'ten'"),
    (vote_file("approval", "voter_id;vote", ["1;a"]).replace("a;4", "a;-4"), "line 7, PROJECTS: the cost of project 'a' is negative"),
    (vote_file("approval", "voter_id;vote", ["1;a"]).replace("b;5", "a;5"), "line 8, PROJECTS: project 'a' appears twice"),
    (vote_file("approval", "voter_id;vote", ["1;a"]).replace("budget;10\n", ""), "META: META has no budget"),
    ("META\nkey;value\nbudget;10\nvote_type;approval\nPROJECTS\nproject_id;cost\na;1\nVOTES\nvoter_id;vote\n"
     "1;\"a\n", "VOTES: unreadable field"),
])
def test_malformed_files_are_refused_with_the_line(text, message):
    with pytest.raises(PabulibError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_not_utf8_is_refused():
    with pytest.raises(PabulibError, match="not UTF-8"):
        parse(SMALL_FILE.encode("latin-1").replace(b"Library", b"Biblioth\xe8que"))


@pytest.mark.parametrize("name", NAMES)
def test_write_then_parse_gives_the_same_election(name):
    e = election(name)
    text = write(e)
    assert parse(text) == e
    assert write(parse(text)) == text


def test_write_quotes_what_needs_quoting():
    e = parse(SMALL_FILE)
    text = write(e)
    assert 'A;50;"Park; phase 2"' in text and "B;50.5;" in text
    assert parse(text) == e


# --- Rules on small elections -----------------------------------------------------------------

def approval_election(budget, costs: dict[str, int], ballots: list[str], extra_meta: str = "") -> pabulib.Election:
    projects = "".join(f"{p};{c}\n" for p, c in costs.items())
    votes = "".join(f"{i};{ballot}\n" for i, ballot in enumerate(ballots, 1))
    return parse(f"META\nkey;value\nbudget;{budget}\nvote_type;approval\n{extra_meta}PROJECTS\nproject_id;cost\n"
                 f"{projects}VOTES\nvoter_id;vote\n{votes}")


def test_greedy_skips_no_skip_stops_and_threshold_filters():
    e = approval_election(10, {"a": 6, "b": 5, "c": 4, "d": 1},
                          ["a,b", "a,b", "a,c", "a", "b,c", "d"], "min_project_score_threshold;2\n")
    assert outcome(e, "greedy").selected == ["a", "c"]
    no_skip = outcome(e, "greedy-no-skip")
    assert no_skip.selected == ["a"]
    assert no_skip.projects["b"].reason == rules.DOES_NOT_FIT and no_skip.projects["b"].budget_left == 4
    assert no_skip.projects["c"].reason == rules.AFTER_STOP
    threshold = outcome(e, "greedy-threshold")
    assert threshold.selected == ["a", "c"] and threshold.projects["d"].reason == rules.BELOW_THRESHOLD
    assert outcome(e, "greedy").selected == ["a", "c"] and outcome(e, "greedy").projects["d"].reason == rules.DOES_NOT_FIT


def test_greedy_ties_go_to_the_cheaper_then_to_the_lower_id():
    e = approval_election(10, {"10": 5, "9": 5, "x": 4}, ["10,9,x", "10,9,x"])
    assert outcome(e, "greedy").selected == ["x", "9"]
    assert natural_key("9") < natural_key("10") < natural_key("10a")


def test_equal_shares_explains_who_paid():
    # 4 voters, 100 each: a (cost 200) is paid by its 3 supporters; b (cost 150) only has one.
    e = approval_election(400, {"a": 200, "b": 150, "c": 100}, ["a,b", "a", "a", "c"])
    result = outcome(e, "equalshares")
    assert result.selected == ["a", "c"]
    a = result.projects["a"]
    assert a.payments == {"1": Fraction(200, 3), "2": Fraction(200, 3), "3": Fraction(200, 3)}
    assert sum(a.payments.values()) == 200
    assert result.projects["b"].reason == rules.UNAFFORDABLE
    assert result.projects["b"].supporters_money == Fraction(100, 3)
    assert result.details["voter_budget"] == 100


def test_add1_raises_the_voters_budget_until_the_next_unit_would_overspend():
    e = approval_election(400, {"a": 200, "b": 150, "c": 100}, ["a,b", "a", "a", "c"])
    result = outcome(e, "equalshares/add1")
    mes = _EqualShares(e)
    assert (result.details["voter_budget"], result.selected) == (mes.add1_stepwise()[0], mes.add1_stepwise()[1].selected)
    assert result.total_cost <= 400


@pytest.mark.parametrize("name", ["Netherlands_Assen_2024.pb", "Poland_Czestochowa_2024_Bleszno.pb",
                                  "Poland_Katowice_2023_Osiedle_Paderewskiego_-_Muchowiec.pb",
                                  "Poland_Gdynia_2022_Redlowo__small.pb", "Switzerland_Zurich_S5R.pb"])
def test_add1_skipping_steady_budgets_equals_adding_one_unit_at_a_time(name):
    mes = _EqualShares(election(name))
    fast, slow = mes.add1(), mes.add1_stepwise()
    assert (fast[0], fast[1].selected) == (slow[0], slow[1].selected)
    assert fast[2] < slow[2] or slow[2] == 1


def test_comparison_step_keeps_greedy_when_more_voters_prefer_it():
    # MES funds the minority's project; most voters get one more project under greedy.
    e = approval_election(10, {"a": 4, "b": 4, "c": 2, "m": 2},
                          ["a,b,c", "a,b,c", "a,b,c", "a,b", "m"])
    mes = outcome(e, "equalshares/add1")
    compared = outcome(e, "equalshares/add1-comparison")
    assert "m" in mes.selected
    assert compared.details["kept"] == "greedy"
    assert set(compared.selected) == set(outcome(e, "greedy").selected)
    assert compared.details["prefer_greedy"] > compared.details["prefer_mes"]


def test_unknown_rule_and_missing_threshold_are_refused():
    e = approval_election(10, {"a": 4}, ["a"])
    with pytest.raises(rules.RuleError, match="unknown rule 'best'"):
        outcome(e, "best")
    with pytest.raises(rules.RuleError, match="names no rule"):
        outcome(e)
    with pytest.raises(rules.RuleError, match="min_project_score_threshold"):
        outcome(e, "greedy-threshold")


# --- pabutools as the reference ---------------------------------------------------------------

class PointsTimesCost(AdditiveSatisfaction):
    """Greedy by score in pabutools: its greedy orders by satisfaction / cost."""

    def __init__(self, instance, profile, ballot):
        super().__init__(instance, profile, ballot, lambda i, p, b, project, pre: b.get(project, 0) * project.cost)


@functools.cache
def reference(name: str):
    """pabutools' instance, profile (ordinal ballots as k..1 points) and satisfactions."""
    instance, profile = parse_pabulib(str(DATA / name))
    approval = type(profile).__name__ == "ApprovalProfile"
    if type(profile).__name__ == "OrdinalProfile":
        profile = CardinalProfile([CardinalBallot({p: len(b) - b.position(p) for p in b}) for b in profile])
    score = scores(election(name))
    ties = {
        "greedy": TieBreakingRule(lambda i, p, project: (project.cost, natural_key(project.name))),
        "mes": TieBreakingRule(lambda i, p, project: (project.cost, -score[project.name], natural_key(project.name))),
    }
    return instance, profile, approval, ties


def pabutools_greedy(name: str, keep=lambda project: True) -> set[str]:
    instance, profile, approval, ties = reference(name)
    sub = type(instance)([p for p in instance if keep(p)], budget_limit=instance.budget_limit)
    sat = Cost_Sat if approval else PointsTimesCost
    chosen = greedy_utilitarian_welfare(sub, profile.as_multiprofile(), sat_class=sat, tie_breaking=ties["greedy"])
    return {p.name for p in chosen}


def pabutools_mes_at(name: str, per_voter: Fraction) -> set[str]:
    instance, profile, approval, ties = reference(name)
    multi = profile.as_multiprofile()
    sat_profile = multi.as_sat_profile(Cost_Sat if approval else Additive_Cardinal_Sat)
    result = method_of_equal_shares_scheme(instance, multi, sat_profile, frac(per_voter.numerator, per_voter.denominator),
                                           BudgetAllocation(), ties["mes"], binary_sat=approval)
    return {p.name for p in result}


@pytest.mark.parametrize("name", NAMES)
def test_greedy_equals_pabutools(name):
    assert set(outcome(election(name), "greedy").selected) == pabutools_greedy(name)


@pytest.mark.parametrize("name", [n for n in NAMES if "min_project_score_threshold" in election(n).meta])
def test_greedy_threshold_equals_pabutools_greedy_on_the_eligible_projects(name):
    e = election(name)
    threshold = Fraction(e.meta["min_project_score_threshold"])
    score = scores(e)
    assert set(outcome(e, "greedy-threshold").selected) == pabutools_greedy(name, lambda p: score[p.name] >= threshold)


@pytest.mark.parametrize("name", NAMES)
def test_equal_shares_equals_pabutools(name):
    e = election(name)
    mine = add1(name)
    per_voter = mine.details["voter_budget"]
    start = e.budget / len(e.votes)
    assert set(outcome(e, "equalshares").selected) == pabutools_mes_at(name, start)
    assert set(mine.selected) == pabutools_mes_at(name, per_voter)
    one_more = pabutools_mes_at(name, per_voter + 1)
    over_budget = sum(e.projects[p].cost for p in one_more) > e.budget
    assert over_budget or _EqualShares(e).exhaustive(mine.selected)


@pytest.mark.parametrize("name", NAMES)
def test_equal_shares_payments_cover_each_cost_within_each_voters_budget(name):
    result = add1(name)
    spent: dict[str, Fraction] = {}
    for project_id in result.selected:
        project = result.projects[project_id]
        assert project.reason == rules.SELECTED and sum(project.payments.values()) == project.cost
        for voter, amount in project.payments.items():
            spent[voter] = spent.get(voter, 0) + amount
    assert all(amount <= result.details["voter_budget"] for amount in spent.values())
    for project in result.projects.values():
        if not project.selected:
            assert project.reason in (rules.UNAFFORDABLE, rules.NO_SUPPORT)
            assert project.reason == rules.NO_SUPPORT or project.supporters_money < project.cost


@pytest.mark.parametrize("name", SMALL)
def test_equal_shares_add1_equals_pabutools_whole_completion(name):
    instance, profile, approval, ties = reference(name)
    result = method_of_equal_shares(instance, profile.as_multiprofile(), sat_class=Cost_Sat if approval else Additive_Cardinal_Sat,
                                    voter_budget_increment=1, tie_breaking=ties["mes"])
    assert set(add1(name).selected) == {p.name for p in result}


@pytest.mark.parametrize("name", NAMES)
def test_comparison_step_equals_pabutools_popularity_comparison(name):
    instance, profile, approval, ties = reference(name)
    e = election(name)
    mes, greedy = add1(name), outcome(e, "greedy")
    by_name = {p.name: p for p in instance}

    def fixed(selection):
        return lambda instance, profile, initial_budget_allocation=None: BudgetAllocation(by_name[p] for p in selection)

    preferred = popularity_comparison(instance, profile, Cardinality_Sat, [fixed(mes.selected), fixed(greedy.selected)])
    mine = rules.equal_shares_with_comparison(e, mes)
    if len(preferred) == 1:
        assert set(mine.selected) == {p.name for p in preferred[0]}
    else:  # a draw, or both rules agree: MES is kept
        assert mine.selected == mes.selected


# --- Command line -----------------------------------------------------------------------------

def test_cli_prints_the_selection_as_json(capsys):
    path = DATA / "Poland_Gdynia_2022_Redlowo__small.pb"
    assert main(["pb", "outcome", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == ["2022/RED/0015", "2022/RED/0008", "2022/RED/0009"]
    assert main(["pb", "outcome", str(path), "--rule", "equalshares/add1"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(add1(path.name).selected)


@pytest.mark.parametrize("args, message", [
    (["--rule", "best"], "unknown rule 'best'"),
    ([], "unknown rule 'unknown'"),  # Zürich's META rule
])
def test_cli_refuses_an_unknown_rule_in_one_line(capsys, args, message):
    assert main(["pb", "outcome", str(DATA / "Switzerland_Zurich_S5R.pb"), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("civicnode: error: ") and message in err and err.count("\n") == 1


def test_cli_refuses_a_malformed_file_in_one_line(tmp_path, capsys):
    path = tmp_path / "broken.pb"
    path.write_text(vote_file("approval", "voter_id;vote", ["1;a,z"]))
    assert main(["pb", "outcome", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: line 12, VOTES: voter '1' votes for project 'z'" in err and err.count("\n") == 1
    assert main(["pb", "outcome", str(tmp_path / "missing.pb")]) == 1
    assert "No such file" in capsys.readouterr().err
