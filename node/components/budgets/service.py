"""Rules of budgets: what a budget and a project must say, the basket, and the checkout.

Every function works inside the caller's transaction and raises BudgetError before writing
anything. Permissions (node.permissions) and a budget's postal codes are checked by the views,
like the other components: `check_and_store_ballot` is also the entry point of ballots coming
from partner nodes, whose eligibility their home node vouches for.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from node.components.budgets.ballot_rules import (  # noqa: F401  (BudgetError, Rules… are imported from here too)
    BudgetError, Rules, check_choices, cost_of, refuse,
)
from node.components.budgets.models import FEASIBILITY, Ballot, BallotItem, Budget, BudgetProject
from node.components.budgets.settings import settings_of, voting_open
from node.db.base import utcnow
from node.db.writes import holds_write_lock
from node.i18n import N_
from node.permissions.rules import normal_postal_code, postal_key
from node.spaces.models import Component, Phase, Space
from node.spaces.service import check_lengths, clean_translated

LIMITS = {"title": 200, "description": 10_000, "category": 100, "address": 200, "reason": 5_000}
MAX_AMOUNT = Decimal(10) ** 15
CURRENCIES = ("EUR", "CHF", "GBP", "PLN", "USD", "CAD", "SEK", "NOK", "DKK", "CZK", "HUF", "RON")

ALREADY_VOTED = N_("You have already voted in this budget: a ballot is final once it is cast.")
NOT_OPEN = N_("Voting is not open in the current phase of this process.")
IMPORTED = N_("This budget is the record of a past vote imported from a file: it takes no new ballots.")


def parse_amount(text, field: str, errors: dict, *, allow_zero: bool = True) -> Decimal | None:
    """A money amount typed in a form: "12000", "12000.50" or "12 000,50"."""
    raw = "".join(str(text or "").split()).replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors[field] = N_("Enter an amount such as 12000 or 12000.50.")
        return None
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT or (value == 0 and not allow_zero):
        errors[field] = N_("Enter an amount above 0.") if not allow_zero else N_("Enter an amount of 0 or more.")
        return None
    if value != value.quantize(Decimal("0.01")):
        errors[field] = N_("Use at most two decimals.")
        return None
    return value


def parse_postal_codes(text: str) -> list[str]:
    codes: list[str] = []
    for part in str(text or "").replace(",", "\n").split("\n"):
        code = normal_postal_code(part)
        if code and code not in codes:
            codes.append(code)
    return codes


# --- budgets and projects ---------------------------------------------------------------------

def check_budget(values: dict, language: str) -> dict:
    errors: dict = {}
    data = {"title": clean_translated(values.get("title")), "description": clean_translated(values.get("description"))}
    if not data["title"]:
        errors[f"title.{language}"] = N_("Enter the budget's title in at least one language.")
    check_lengths(errors, "title", data["title"], LIMITS["title"])
    check_lengths(errors, "description", data["description"], LIMITS["description"])
    data["total"] = parse_amount(values.get("total"), "total", errors, allow_zero=False)
    currency = str(values.get("currency", "")).strip().upper()
    if currency not in CURRENCIES:
        errors["currency"] = N_("Choose one of the currencies offered.")
    data["currency"] = currency
    codes = parse_postal_codes(values.get("postal_codes", ""))
    if len(codes) > 500 or any(len(c) > 16 for c in codes):
        errors["postal_codes"] = N_("Enter at most 500 postal codes of at most 16 characters each.")
    data["postal_codes"] = codes
    if errors:
        raise BudgetError(errors)
    return data


async def create_budget(db, component: Component, values: dict, *, language: str) -> Budget:
    data = check_budget(values, language)
    count = await db.scalar(select(func.count()).select_from(Budget).where(Budget.component_id == component.id))
    budget = Budget(component_id=component.id, space_id=component.space_id, position=count, **data)
    db.add(budget)
    await db.flush()
    return budget


async def update_budget(db, budget: Budget, values: dict, *, language: str) -> Budget:
    data = check_budget(values, language)
    if budget.imported and Decimal(budget.total) != data["total"]:
        # The recorded vote was cast against that total; its results would silently change.
        raise BudgetError({"total": N_("The total of an imported budget cannot change.")})
    for key, value in data.items():
        setattr(budget, key, value)
    await db.flush()
    return budget


def check_project(values: dict, language: str) -> dict:
    errors: dict = {}
    data = {"title": clean_translated(values.get("title")), "description": clean_translated(values.get("description"))}
    if not data["title"]:
        errors[f"title.{language}"] = N_("Enter the project's title in at least one language.")
    check_lengths(errors, "title", data["title"], LIMITS["title"])
    check_lengths(errors, "description", data["description"], LIMITS["description"])
    data["cost"] = parse_amount(values.get("cost"), "cost", errors)
    for name in ("category", "address"):
        data[name] = " ".join(str(values.get(name, "")).split())
        if len(data[name]) > LIMITS[name]:
            errors[name] = (N_("Use at most %(n)s characters."), {"n": LIMITS[name]})
    feasibility = str(values.get("feasibility", "pending"))
    if feasibility not in FEASIBILITY:
        errors["feasibility"] = N_("Choose one of the options offered.")
    data["feasibility"] = feasibility
    data["feasibility_reason"] = str(values.get("feasibility_reason", "")).replace("\r\n", "\n").strip()
    if feasibility == "unfeasible" and not data["feasibility_reason"]:
        errors["feasibility_reason"] = N_("Say why the project is unfeasible: residents read the reason.")
    elif len(data["feasibility_reason"]) > LIMITS["reason"]:
        errors["feasibility_reason"] = (N_("Use at most %(n)s characters."), {"n": LIMITS["reason"]})
    ids = []
    for part in str(values.get("proposal_ids", "")).replace(",", " ").split():
        if not part.isdigit() or not 0 < int(part) < 2**31:
            errors["proposal_ids"] = N_("Enter proposal numbers separated by spaces, such as 12 15.")
            break
        if int(part) not in ids:
            ids.append(int(part))
    data["proposal_ids"] = ids
    if errors:
        raise BudgetError(errors)
    return data


async def _check_proposals(db, budget: Budget, ids: list[int]) -> None:
    if not ids:
        return
    from node.components.proposals.models import Proposal

    found = set((await db.scalars(select(Proposal.id).where(
        Proposal.id.in_(ids), Proposal.space_id == budget.space_id))).all())
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise BudgetError({"proposal_ids": (N_("This space has no proposal numbered %(ids)s."),
                                            {"ids": ", ".join(missing)})})


async def _voted_for(db, project_id: int) -> bool:
    return bool(await db.scalar(select(BallotItem.id).join(Ballot, Ballot.id == BallotItem.ballot_id).where(
        BallotItem.project_id == project_id, Ballot.checked_out_at.is_not(None)).limit(1)))


async def create_project(db, budget: Budget, values: dict, *, language: str) -> BudgetProject:
    data = check_project(values, language)
    await _check_proposals(db, budget, data["proposal_ids"])
    count = await db.scalar(select(func.count()).select_from(BudgetProject)
                            .where(BudgetProject.budget_id == budget.id))
    project = BudgetProject(budget_id=budget.id, position=count, **data)
    db.add(project)
    await db.flush()
    return project


async def update_project(db, project: BudgetProject, budget: Budget, values: dict, *, language: str) -> BudgetProject:
    data = check_project(values, language)
    await _check_proposals(db, budget, data["proposal_ids"])
    if Decimal(project.cost) != data["cost"] and await _voted_for(db, project.id):
        # Ballots within the budget were cast against the old cost.
        raise BudgetError({"cost": N_("Ballots with this project were already cast: its cost can no longer change.")})
    for key, value in data.items():
        setattr(project, key, value)
    await db.flush()
    return project


async def import_accepted_proposals(db, budget: Budget) -> int:
    """Accepted proposals of the budget's space become projects (cost 0, pending review), once
    each: a proposal already linked to a project of this budget is skipped."""
    from node.components.proposals.models import Proposal

    linked = {pid for ids in (await db.scalars(select(BudgetProject.proposal_ids).where(
        BudgetProject.budget_id == budget.id))).all() for pid in ids or ()}
    proposals = (await db.scalars(select(Proposal).where(
        Proposal.space_id == budget.space_id, Proposal.state == "accepted").order_by(Proposal.id))).all()
    position = await db.scalar(select(func.count()).select_from(BudgetProject)
                               .where(BudgetProject.budget_id == budget.id))
    added = 0
    for proposal in proposals:
        if proposal.id in linked:
            continue
        # A proposal's text is in its author's language, which is not recorded: every language.
        db.add(BudgetProject(budget_id=budget.id, position=position + added, title={"en": proposal.title},
                             description={"en": proposal.body}, cost=0, category=proposal.category[:100],
                             address=proposal.address[:200], proposal_ids=[proposal.id], feasibility="pending"))
        added += 1
    await db.flush()
    return added


# --- the ballot -------------------------------------------------------------------------------

async def voting_context(db, budget: Budget):
    """(component, space, settings, active phase id) of a budget, read in the transaction."""
    component = await db.get(Component, budget.component_id)
    space = await db.get(Space, budget.space_id)
    phase_id = await db.scalar(select(Phase.id).where(Phase.space_id == space.id, Phase.active.is_(True)))
    return component, space, settings_of(component), phase_id


async def projects_of(db, budget_id: int) -> dict[int, BudgetProject]:
    rows = await db.scalars(select(BudgetProject).where(BudgetProject.budget_id == budget_id)
                            .order_by(BudgetProject.position, BudgetProject.id))
    return {p.id: p for p in rows.all()}


def _voter_column(voter):
    from node.cohosting.models import RemoteParticipant

    return (Ballot.participant_id, "participant_id") if isinstance(voter, RemoteParticipant) else (Ballot.user_id, "user_id")


async def _serialise(db, budget: Budget, voter) -> None:
    """One basket change or checkout of a voter at a time, so that checks see what is there.

    PostgreSQL: lock the voter's row. SQLite: start with a write, which takes the database's
    single write lock at once (as node.components.proposals.supports does)."""
    dialect = (await db.connection()).dialect.name
    if dialect == "sqlite":
        if holds_write_lock(db):
            return  # begun with BEGIN IMMEDIATE (node.db.writes): the lock is held already
        await db.execute(update(Budget).where(Budget.id == budget.id)
                         .values(position=Budget.position, updated_at=Budget.updated_at))
    else:
        table = type(voter)
        await db.execute(select(table.id).where(table.id == voter.id).with_for_update())


async def ballot_of(db, budget_id: int, voter) -> Ballot | None:
    column, _ = _voter_column(voter)
    return await db.scalar(select(Ballot).where(Ballot.budget_id == budget_id, column == voter.id)
                           .execution_options(populate_existing=True))


async def items_of(db, ballot_id: int) -> dict[int, int | None]:
    rows = await db.execute(select(BallotItem.project_id, BallotItem.points).where(BallotItem.ballot_id == ballot_id))
    return {project_id: (int(points) if points is not None else None) for project_id, points in rows.all()}


async def _open_for(db, budget: Budget, voter):
    """The checks before any change of a voter's ballot: (rules, projects, ballot or None)."""
    await _serialise(db, budget, voter)
    if budget.imported:
        raise refuse(IMPORTED, 409)
    component, _space, settings, phase_id = await voting_context(db, budget)
    if not voting_open(settings, phase_id):
        raise refuse(NOT_OPEN, 403)
    ballot = await ballot_of(db, budget.id, voter)
    if ballot is not None and ballot.checked_out_at is not None:
        raise refuse(ALREADY_VOTED, 409)
    return Rules.of(settings, budget), await projects_of(db, budget.id), ballot


async def _basket(db, budget: Budget, voter, ballot: Ballot | None) -> Ballot:
    if ballot is not None:
        return ballot
    _, name = _voter_column(voter)
    ballot = Ballot(budget_id=budget.id, **{name: voter.id})
    db.add(ballot)
    try:
        await db.flush()
    except IntegrityError:
        raise refuse(N_("Your basket changed in another window meanwhile. Reload the page and try again."), 409) from None
    return ballot


async def _replace_items(db, ballot: Ballot, choices: dict) -> None:
    await db.execute(delete(BallotItem).where(BallotItem.ballot_id == ballot.id))
    for project_id, points in sorted(choices.items()):
        db.add(BallotItem(ballot_id=ballot.id, project_id=project_id, points=points))
    await db.flush()


async def change_basket(db, budget: Budget, voter, *, add: int | None = None, remove: int | None = None,
                        points: dict[int, int] | None = None) -> dict:
    """Add a project, remove one, or set points; returns the basket's new choices. A choose-one
    basket holds one project: adding another replaces it."""
    rules, projects, ballot = await _open_for(db, budget, voter)
    choices = await items_of(db, ballot.id) if ballot is not None else {}
    if add is not None:
        if rules.kind == "choose_one":
            choices = {}
        if add not in choices:
            choices[add] = 1 if rules.kind == "cumulative" else None
    if remove is not None:
        choices.pop(remove, None)
    if points:
        for project_id, value in points.items():
            if value == 0:
                choices.pop(project_id, None)
            else:
                if project_id not in choices and project_id not in projects:
                    raise refuse(N_("This project is not in this budget. Reload the page and try again."), 422)
                choices[project_id] = value
    check_choices(rules, projects, choices, final=False)
    ballot = await _basket(db, budget, voter, ballot)
    await _replace_items(db, ballot, choices)
    return choices


def budget_uri(base_url: str, space_slug: str, budget: Budget) -> str:
    return f"{base_url}/spaces/{space_slug}/c/{budget.component_id}/budgets/{budget.id}"


def canonical_ballot(uri: str, choices: dict, salt: str) -> str:
    """The JCS (RFC 8785) text hashed into a receipt: the budget, the choices by project id, the
    salt. Points are whole numbers; approval ballots name projects only."""
    import rfc8785

    items = [{"project": project_id} if points is None else {"project": project_id, "points": int(points)}
             for project_id, points in sorted(choices.items())]
    return rfc8785.dumps({"budget": uri, "choices": items, "salt": salt}).decode("utf-8")


def receipt_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Cast:
    ballot: Ballot
    salt: str  # shown to the voter once, never stored
    canonical: str


async def check_and_store_ballot(db, budget: Budget, voter, choices: dict, *, base_url: str,
                                 receipt: str | None = None) -> Cast:
    """Cast `voter`'s ballot (a local User, or a partner node's RemoteParticipant) with
    `choices` (project id -> points or None), replacing their basket if they have one.
    `receipt`: given by a partner resident's home node, which drew the salt and keeps it with
    the resident (node.cohosting.ballots_home); the Cast then has no salt nor canonical text.

    Checks, in the caller's transaction and before writing: the budget takes ballots, voting is
    open in the space's active phase, the voter has not voted yet, every choice is a project of
    this budget on the ballot, and the ballot kind's limits (budget, number of projects, points).
    """
    rules, projects, ballot = await _open_for(db, budget, voter)
    check_choices(rules, projects, choices, final=True)
    ballot = await _basket(db, budget, voter, ballot)
    await _replace_items(db, ballot, choices)
    space = await db.get(Space, budget.space_id)
    salt = canonical = ""
    if receipt is None:
        salt = secrets.token_hex(16)
        canonical = canonical_ballot(budget_uri(base_url, space.slug, budget), choices, salt)
        receipt = receipt_of(canonical)
    # Conditional: of two concurrent checkouts of one basket, one finds it already cast.
    done = await db.execute(update(Ballot).where(Ballot.id == ballot.id, Ballot.checked_out_at.is_(None))
                            .values(checked_out_at=utcnow(), receipt=receipt)
                            .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise refuse(ALREADY_VOTED, 409)
    await db.refresh(ballot)
    return Cast(ballot, salt, canonical)


def confirmed_choices(form, rules: Rules, projects: dict) -> dict:
    """The choices the voter confirmed on the checkout page. The page repeats each project's id,
    cost (and points): the ballot is cast only if they are still what the node holds, so a
    cost edited in the form, or changed meanwhile, refuses the checkout instead of casting a
    ballot the voter did not see."""
    choices: dict = {}
    for raw in form.getall("project", []):
        if not str(raw).isdigit() or int(raw) not in projects:
            raise refuse(N_("This project is not in this budget. Reload the page and try again."), 422)
        project_id = int(raw)
        if project_id in choices:
            raise refuse(N_("A project appears twice in what you confirmed. Reload the page and try again."), 422)
        try:
            shown = Decimal(str(form.get(f"cost_{project_id}", "")))
        except InvalidOperation:
            shown = None
        if shown is None or shown != Decimal(projects[project_id].cost):
            raise refuse(N_("The cost of a project you confirmed is not its cost in this budget. "
                            "Review your basket and confirm again."), 422)
        points = None
        if rules.kind == "cumulative":
            text = str(form.get(f"points_{project_id}", ""))
            if not text.isdigit():
                raise refuse(N_("Give each project in your basket a whole number of points, 1 or more."), 422)
            points = int(text)
        choices[project_id] = points
    return choices


async def postal_code_allowed(db, budget: Budget, user) -> bool:
    """A budget with postal codes takes ballots from residents whose active verification holds
    one of them."""
    if not budget.postal_codes:
        return True
    from node.verification.service import active_authorisations

    wanted = {postal_key(code) for code in budget.postal_codes}
    found = await active_authorisations(db, user.id)
    return any(postal_key((a.details or {}).get("postal_code")) in wanted for a in found.values())
