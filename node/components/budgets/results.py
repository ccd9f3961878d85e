"""Counting a budget: its cast ballots as a Pabulib election, the outcome of its rule
(node.components.budgets.rules, unchanged), and why each project was or was not selected.

Unfeasible projects are not on the ballot: they are left out of the election, and so are the
choices of them in ballots cast before they were found unfeasible. Imported budgets are counted
with their file's META rule when rules.py knows it (that is how the official outcome was
computed), other budgets with the component's rule.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from aiohttp import web
from sqlalchemy import func, select

from node.components.budgets import rules
from node.components.budgets.models import Ballot, BallotItem, Budget, BudgetProject
from node.components.budgets.pabulib import Election, Project, Vote, format_number
from node.components.budgets.routes import OUTCOMES
from node.components.budgets.settings import VOTE_TYPES
from node.i18n import N_

POINTS_TYPES = ("cumulative", "scoring", "ordinal")


def vote_type_of(budget: Budget, settings: dict) -> str:
    return budget.source["vote_type"] if budget.imported else VOTE_TYPES[settings["ballot_kind"]]


def rule_of(budget: Budget, settings: dict) -> str:
    if budget.imported and budget.source.get("meta", {}).get("rule") in rules.RULES:
        return budget.source["meta"]["rule"]
    return settings["rule"]


def project_keys(projects) -> dict[int, str]:
    """Each project's id in Pabulib terms: the file's id for imported projects (ties are broken
    by it, as in the official count), the node's id otherwise, never two alike."""
    keys: dict[int, str] = {}
    taken = {p.source_id for p in projects if p.source_id}
    for project in projects:
        key = project.source_id or str(project.id)
        if not project.source_id and key in taken:
            key = f"{project.id}-{len(keys)}"
        taken.add(key)
        keys[project.id] = key
    return keys


def voter_key(ballot_id: int, receipt: str | None, source_voter_id: str | None) -> str:
    """A cast ballot's name in the public list and in exports: its receipt, or the file's voter
    id for imported ballots."""
    return source_voter_id or receipt or f"ballot-{ballot_id}"


def exact(value) -> str | None:
    """A Fraction as exact text: decimal when it has a finite decimal form, else "p/q"."""
    if value is None:
        return None
    value = Fraction(value)
    try:
        return format_number(value)
    except ValueError:
        return f"{value.numerator}/{value.denominator}"


@dataclass
class Counted:
    budget: Budget
    vote_type: str
    rule: str
    projects: list[BudgetProject]  # every project, unfeasible ones included, in display order
    keys: dict[int, str]  # project id -> Pabulib id
    election: Election
    outcome: rules.Outcome
    ballots: int

    def result(self, project: BudgetProject) -> rules.ProjectResult | None:
        return self.outcome.projects.get(self.keys[project.id])


async def ballots_signature(db, budget_id: int) -> tuple:
    """Changes whenever a ballot is cast: cast ballots never change or go away afterwards."""
    row = (await db.execute(select(func.count(Ballot.id), func.max(Ballot.id)).where(
        Ballot.budget_id == budget_id, Ballot.checked_out_at.is_not(None)))).one()
    return tuple(row)


async def cast_ballots(db, budget_id: int) -> list[tuple]:
    """(ballot id, receipt, source voter id, source fields, [(project id, points, rank)]) of every
    cast ballot: imported ones in file order, then the others by receipt (an order that says
    nothing about when or by whom they were cast)."""
    ballots = (await db.execute(
        select(Ballot.id, Ballot.receipt, Ballot.source_voter_id, Ballot.source_fields)
        .where(Ballot.budget_id == budget_id, Ballot.checked_out_at.is_not(None))
        .order_by(Ballot.source_voter_id.is_(None), Ballot.receipt, Ballot.id))).all()
    items: dict[int, list] = {}
    rows = await db.execute(
        select(BallotItem.ballot_id, BallotItem.project_id, BallotItem.points, BallotItem.rank)
        .join(Ballot, Ballot.id == BallotItem.ballot_id)
        .where(Ballot.budget_id == budget_id, Ballot.checked_out_at.is_not(None))
        .order_by(BallotItem.ballot_id, BallotItem.rank, BallotItem.id))
    for ballot_id, project_id, points, rank in rows.all():
        items.setdefault(ballot_id, []).append((project_id, points, rank))
    return [(b.id, b.receipt, b.source_voter_id, b.source_fields, items.get(b.id, [])) for b in ballots]


async def turnout_by_node(db, budget_id: int, own_host: str) -> dict[str, int]:
    """Cast ballots per home node: this node's residents under ``own_host``, partner nodes'
    residents (cross-node ballots, node.cohosting.ballots_host) under theirs. Imported ballots
    have no node and are not in it."""
    from node.cohosting.models import RemoteParticipant

    rows = await db.execute(
        select(RemoteParticipant.home_host, func.count(Ballot.id))
        .select_from(Ballot).outerjoin(RemoteParticipant, RemoteParticipant.id == Ballot.participant_id)
        .where(Ballot.budget_id == budget_id, Ballot.checked_out_at.is_not(None),
               (Ballot.user_id.is_not(None)) | (Ballot.participant_id.is_not(None)))
        .group_by(RemoteParticipant.home_host))
    found: dict[str, int] = {}
    for host, n in rows.all():
        found[host or own_host] = found.get(host or own_host, 0) + n
    # This node first, then its partners by name.
    return dict(sorted(found.items(), key=lambda item: (item[0] != own_host, item[0])))


def build_election(budget: Budget, vote_type: str, rule: str, projects: list[BudgetProject],
                   keys: dict[int, str], ballots: list[tuple], *, with_unfeasible: bool = False) -> Election:
    meta = dict(budget.source["meta"]) if budget.imported else {}
    meta.update(budget=format_number(Fraction(budget.total)), vote_type=vote_type, rule=rule)
    listed = [p for p in projects if with_unfeasible or p.feasibility != "unfeasible"]
    on_ballot = {p.id for p in listed}
    election_projects = {}
    for project in listed:
        fields = dict(project.source_fields or {})
        election_projects[keys[project.id]] = Project(keys[project.id], Fraction(project.cost), fields)
    votes = []
    for ballot_id, receipt, source_voter_id, source_fields, items in ballots:
        kept = [(p, points) for p, points, _rank in items if p in on_ballot]
        points = tuple(Fraction(value) for _, value in kept) if vote_type in ("cumulative", "scoring") else None
        votes.append(Vote(voter_key(ballot_id, receipt, source_voter_id), tuple(keys[p] for p, _ in kept), points,
                          dict(source_fields or {})))
    columns = budget.source or {}
    return Election(meta, election_projects, votes, list(columns.get("project_columns", [])),
                    list(columns.get("vote_columns", [])))


KEPT = 32


async def count(app: web.Application, db, budget: Budget, settings: dict,
                projects: list[BudgetProject]) -> Counted:
    """The budget's outcome now. Kept per process under what it depends on (the rule, the
    projects' costs and feasibility, the cast ballots), since the Method of Equal Shares takes
    seconds on large elections."""
    vote_type, rule = vote_type_of(budget, settings), rule_of(budget, settings)
    keys = project_keys(projects)
    signature = (budget.id, str(budget.total), vote_type, rule,
                 tuple((p.id, str(p.cost), p.feasibility) for p in projects),
                 await ballots_signature(db, budget.id))
    cache = app[OUTCOMES]
    found = cache.get(signature)
    if found is None:
        ballots = await cast_ballots(db, budget.id)
        election = build_election(budget, vote_type, rule, projects, keys, ballots)
        # A thread, so that a long count does not hold every other request of the node.
        outcome = await asyncio.to_thread(rules.outcome, election, rule)
        found = cache[signature] = (election, outcome, len(ballots))
        while len(cache) > KEPT:
            cache.popitem(last=False)
    cache.move_to_end(signature)
    election, outcome, ballots = found
    return Counted(budget, vote_type, rule, projects, keys, election, outcome, ballots)


# --- explanations -----------------------------------------------------------------------------
# (msgid, values): values named cost, left, money, share, amount are money, formatted by the page.

def explanation(counted: Counted, result: rules.ProjectResult) -> tuple[str, dict]:
    mes = counted.outcome.rule.startswith("equalshares") and not (
        counted.outcome.details.get("kept") == "greedy")
    reason = result.reason
    if reason == rules.SELECTED and not mes:
        return N_("Selected: its cost (%(cost)s) fitted in the %(left)s left when its turn came."), {
            "cost": result.cost, "left": result.budget_left}
    if reason == rules.SELECTED:
        if result.cost == 0:
            return N_("Selected: it costs nothing and has supporters."), {}
        return N_("Selected: its %(n)s supporters paid its cost (%(cost)s) from their equal shares of the budget."), {
            "n": len(result.payments), "cost": result.cost}
    if reason == rules.DOES_NOT_FIT:
        return N_("Not selected: its cost (%(cost)s) is more than the %(left)s left when its turn came."), {
            "cost": result.cost, "left": result.budget_left}
    if reason == rules.AFTER_STOP:
        return N_("Not selected: the count stopped at an earlier project that did not fit in the money left."), {}
    if reason == rules.BELOW_THRESHOLD:
        return N_("Not selected: its score (%(score)s) is below the minimum of %(threshold)s."), {
            "score": exact(result.score), "threshold": exact(counted.outcome.details.get("threshold"))}
    if reason == rules.NO_SUPPORT:
        return N_("Not selected: nobody voted for it."), {}
    return N_("Not selected: its supporters had only %(money)s left of their shares, less than its cost (%(cost)s)."), {
        "money": result.supporters_money, "cost": result.cost}


def payment_groups(result: rules.ProjectResult) -> list[tuple[Fraction, int]]:
    """What the supporters of a project selected by MES paid: (amount, how many voters), largest
    amount first."""
    return sorted(Counter(result.payments.values()).items(), key=lambda item: -item[0])


def comparison_note(outcome: rules.Outcome) -> tuple[str, dict] | None:
    details = outcome.details
    if "kept" not in details:
        return None
    values = {"mes": details["prefer_mes"], "greedy": details["prefer_greedy"]}
    if details["kept"] == "greedy":
        return N_("Comparison step: %(greedy)s voters prefer the greedy outcome and %(mes)s the Method of Equal "
                  "Shares one, so the greedy outcome is kept."), values
    return N_("Comparison step: %(mes)s voters prefer the Method of Equal Shares outcome and %(greedy)s the "
              "greedy one, so the Method of Equal Shares outcome is kept."), values


def as_json(counted: Counted, title) -> dict:
    """The results as published at results.json: enough to check them against the ballots."""
    outcome = counted.outcome
    projects = []
    for project in counted.projects:
        result = counted.result(project)
        entry = {"id": counted.keys[project.id], "title": title(project.title), "cost": exact(project.cost),
                 "feasibility": project.feasibility}
        if result is not None:
            entry.update(score=exact(result.score), selected=result.selected, reason=result.reason,
                         position=result.position, budget_left=exact(result.budget_left),
                         price=exact(result.price), supporters_money=exact(result.supporters_money),
                         payments={voter: exact(amount) for voter, amount in sorted(result.payments.items())})
        else:
            entry.update(selected=False, reason="unfeasible", reason_text=project.feasibility_reason)
        projects.append(entry)
    details = {key: (exact(value) if isinstance(value, Fraction) else value)
               for key, value in outcome.details.items()}
    return {"rule": counted.rule, "vote_type": counted.vote_type, "budget": exact(counted.budget.total),
            "currency": counted.budget.currency, "ballots": counted.ballots, "selected": outcome.selected,
            "total_cost": exact(outcome.total_cost), "details": details, "projects": projects}
