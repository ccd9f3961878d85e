"""Outcome rules of participatory budgets, in exact rational arithmetic.

Rule names are Pabulib's (META `rule`); docs/ARCHITECTURE.md, "Participatory budgeting rules",
defines each one and its tie-breaking. Scores always come from the ballots (VOTES), never from
the published `votes`/`score` columns of PROJECTS:

- approval and choose-1: one point per approval;
- cumulative and scoring: the `points` column;
- ordinal: a ballot ranking k projects gives k points to its first, k-1 to the next, ... 1 to
  its last (this reproduces the published scores of Kraków, where k is always 3, and of Zürich,
  where one ballot ranks a single project).

Every rule returns an Outcome whose `projects` explain, for each project, why it was selected or
not (reason codes in rules_common.py) with the numbers a results page needs: for the Method of
Equal Shares, what each supporter paid.

This module is the public entry point; the rules live in rules_greedy.py, equal_shares.py (with
one run of MES in equal_shares_run.py) and what they share in rules_common.py.
"""
from __future__ import annotations

from node.components.budgets.equal_shares import _EqualShares, equal_shares, equal_shares_with_comparison
from node.components.budgets.pabulib import Election, parse_number
from node.components.budgets.rules_common import (AFTER_STOP, BELOW_THRESHOLD, DOES_NOT_FIT, NO_SUPPORT, RULES,
                                                  SELECTED, UNAFFORDABLE, Outcome, ProjectResult, RuleError,
                                                  ballot_groups, natural_key, scores, utilities)
from node.components.budgets.rules_greedy import greedy

__all__ = ["AFTER_STOP", "BELOW_THRESHOLD", "DOES_NOT_FIT", "NO_SUPPORT", "RULES", "SELECTED", "UNAFFORDABLE",
           "Outcome", "ProjectResult", "RuleError", "ballot_groups", "equal_shares", "equal_shares_with_comparison",
           "greedy", "natural_key", "outcome", "scores", "utilities", "_EqualShares"]


def outcome(election: Election, rule: str | None = None) -> Outcome:
    """The outcome of `rule`, by default the file's META rule."""
    rule = rule or election.rule
    if not rule:
        raise RuleError(f"the file's META names no rule; choose one of {', '.join(RULES)}")
    if rule not in RULES:
        source = " (the file's META rule; choose another)" if rule == election.rule else ""
        raise RuleError(f"unknown rule {rule!r}{source}; known rules: {', '.join(RULES)}")
    if rule == "greedy":
        return greedy(election)
    if rule == "greedy-no-skip":
        return greedy(election, skip=False)
    if rule == "greedy-threshold":
        text = election.meta.get("min_project_score_threshold")
        if text is None:
            raise RuleError("greedy-threshold needs META min_project_score_threshold")
        try:
            threshold = parse_number(text, "min_project_score_threshold")
        except ValueError as exc:
            raise RuleError(str(exc)) from None
        return greedy(election, threshold=threshold)
    if rule == "equalshares":
        return equal_shares(election, completion=None)
    if rule == "equalshares/add1":
        return equal_shares(election)
    return equal_shares_with_comparison(election)
