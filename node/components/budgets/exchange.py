"""Pabulib `.pb` files in and out of the node.

Import: a file becomes a budget of the component with its projects and its ballots, the
ballots marked imported (anonymous records of a past vote: the file's voter ids, no accounts),
all in the caller's transaction, and only once the whole file has been read without error.
The file's META, its column orders and its other columns are kept, so that exporting an
imported budget writes the same election back.

Export: any budget as a file; ballots cast here are named by their receipt.
"""
from __future__ import annotations

import re

from sqlalchemy import func, insert, select

from node.components.budgets import pabulib
from node.components.budgets.models import Ballot, BallotItem, Budget, BudgetProject
from node.components.budgets.results import build_election, cast_ballots, project_keys, rule_of, vote_type_of
from node.components.budgets.service import BudgetError, MAX_AMOUNT
from node.db.base import utcnow
from node.i18n import N_

BATCH = 2000


def _text(value: str, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def _title(meta: dict) -> str:
    parts = [meta.get(key, "") for key in ("unit", "subunit", "district", "instance")]
    named = " ".join(part for part in parts if part) or meta.get("description", "")
    return _text(named, 200) or "Pabulib"


async def import_pb(db, component, data: bytes, *, language: str) -> Budget:
    """Create a budget from a .pb file; BudgetError naming the line when the file is malformed."""
    try:
        election = pabulib.parse(data)
    except pabulib.PabulibError as exc:
        raise BudgetError({"file": (N_("This is not a Pabulib file the node can read: %(problem)s"),
                                    {"problem": str(exc)})}) from None
    budget_total = election.budget
    if budget_total <= 0 or budget_total >= MAX_AMOUNT:
        raise BudgetError({"file": N_("The file's META budget must be above 0.")})
    for project in election.projects.values():
        if len(project.id) > 100:
            raise BudgetError({"file": (N_("Project id %(id)s is too long (100 characters at most)."),
                                        {"id": project.id[:20] + "…"})})
    for vote in election.votes:
        if len(vote.voter_id) > 100:
            raise BudgetError({"file": (N_("Voter id %(id)s is too long (100 characters at most)."),
                                        {"id": vote.voter_id[:20] + "…"})})
    try:
        for value in (budget_total, *(p.cost for p in election.projects.values()),
                      *(x for v in election.votes for x in v.points or ())):
            if len(pabulib.format_number(value)) > 40:
                raise ValueError(f"the number {pabulib.format_number(value)[:20]}… has too many digits")
    except ValueError as exc:  # e.g. "1e-30": exact, but not storable as a short decimal
        raise BudgetError({"file": (N_("This is not a Pabulib file the node can read: %(problem)s"),
                                    {"problem": str(exc)})}) from None
    meta = election.meta
    currency = meta.get("currency", "").strip().upper()
    currency = currency if re.fullmatch(r"[A-Z]{3}", currency) else "EUR"
    description = meta.get("description", "")
    position = await db.scalar(select(func.count()).select_from(Budget).where(Budget.component_id == component.id))
    budget = Budget(component_id=component.id, space_id=component.space_id, position=position,
                    title={language: _title(meta)}, description={language: description} if description else {},
                    total=budget_total, currency=currency, postal_codes=[],
                    source={"meta": dict(meta), "vote_type": election.vote_type,
                            "project_columns": list(election.project_columns),
                            "vote_columns": list(election.vote_columns)})
    db.add(budget)
    await db.flush()

    project_ids: dict[str, int] = {}
    for index, project in enumerate(election.projects.values()):
        fields = project.fields
        row = BudgetProject(budget_id=budget.id, position=index,
                            title={language: _text(fields.get("name", ""), 10_000) or project.id},
                            description={language: fields["description"]} if fields.get("description") else {},
                            cost=project.cost, category=_text(fields.get("category", ""), 100),
                            address=_text(fields.get("address", ""), 200), proposal_ids=[],
                            feasibility="feasible", source_id=project.id, source_fields=dict(fields))
        db.add(row)
        await db.flush()
        project_ids[project.id] = row.id

    now = utcnow()
    ordinal, points = election.vote_type == "ordinal", election.vote_type in pabulib.POINTS_VOTE_TYPES
    for start in range(0, len(election.votes), BATCH):
        votes = election.votes[start:start + BATCH]
        # Ids in the order given (insertmanyvalues' sort_by_parameter_order), on both engines.
        ids = (await db.scalars(insert(Ballot).returning(Ballot.id, sort_by_parameter_order=True), [
            {"budget_id": budget.id, "checked_out_at": now, "source_voter_id": vote.voter_id,
             "source_fields": dict(vote.fields)} for vote in votes])).all()
        items = []
        for ballot_id, vote in zip(ids, votes):
            for rank, project in enumerate(vote.projects, 1):
                items.append({"ballot_id": ballot_id, "project_id": project_ids[project],
                              "points": vote.points[rank - 1] if points else None,
                              "rank": rank if ordinal else None})
        if items:
            await db.execute(insert(BallotItem), items)
    return budget


async def export_pb(db, budget: Budget, settings: dict, *, title) -> str:
    """The budget as .pb text: its projects on the ballot (unfeasible ones are not) and its cast
    ballots. `title`: picks a translated title in the node's default language."""
    projects = list((await db.scalars(select(BudgetProject).where(BudgetProject.budget_id == budget.id)
                                      .order_by(BudgetProject.position, BudgetProject.id))).all())
    keys = project_keys(projects)
    vote_type, rule = vote_type_of(budget, settings), rule_of(budget, settings)
    election = build_election(budget, vote_type, rule, projects, keys, await cast_ballots(db, budget.id))
    counts = {"num_projects": str(len(election.projects)), "num_votes": str(len(election.votes))}
    if budget.imported:
        # The file's META as it was (its number formats, its rule name, its order), with the
        # counts corrected if projects were found unfeasible here since.
        source = budget.source["meta"]
        election.meta = {**source, **{k: v for k, v in counts.items()
                                      if k not in source or int(source[k] or 0) != int(v)}}
        return pabulib.write(election)
    meta = {"description": title(budget.title), **counts, "budget": election.meta["budget"],
            "vote_type": vote_type, "rule": rule, "currency": budget.currency}
    kind = settings["ballot_kind"]
    if kind in ("budget_cap", "project_count"):
        if settings["min_projects"]:
            meta["min_length"] = str(settings["min_projects"])
        if settings["max_projects"]:
            meta["max_length"] = str(settings["max_projects"])
        if kind == "budget_cap":
            meta["max_sum_cost"] = meta["budget"]
    elif kind == "cumulative":
        meta["max_sum_points"] = str(settings["points"])
    else:
        meta["max_length"] = "1"
    election.meta = meta
    by_key = {keys[p.id]: p for p in projects}
    for key, project in election.projects.items():
        source_project = by_key[key]
        project.fields = {"name": title(source_project.title)}
        if source_project.category:
            project.fields["category"] = source_project.category
    return pabulib.write(election)

