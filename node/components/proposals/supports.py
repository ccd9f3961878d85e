"""Supports: one per person per proposal, decided by the database's unique constraint.

Counting with a "minimum supports per user" (Decidim's minimum votes per user): every Support
row is kept, but a person's supports only count in public totals once that person has given at
least the minimum number in the component. Each row carries `counted`; `Proposal.support_count`
is always the number of counted rows and changes in the same transaction as the rows:
- the support that reaches the minimum turns all of that person's supports in the component
  into counted ones (+1 on each of those proposals);
- withdrawing a support that takes the person below the minimum turns the rest back into
  uncounted ones (-1 on each).
`recount_supports` rebuilds flags and counters from the rows (after the minimum is changed).
"""
from __future__ import annotations

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from node.accounts.models import User
from node.cohosting.models import RemoteParticipant
from node.components.proposals.models import Proposal, Support
from node.components.proposals.service import refuse
from node.components.proposals.settings import settings_of, supports_open
from node.db.writes import holds_write_lock
from node.i18n import N_
from node.spaces.models import Component

ALREADY = N_("You already support this proposal.")


def _person(person):
    """The Support column that identifies ``person``: a local user, or a partner node's
    resident (node.cohosting.models.RemoteParticipant)."""
    if isinstance(person, RemoteParticipant):
        return Support.participant_id, person.id, RemoteParticipant
    return Support.user_id, person.id, User


async def _serialise(db, person, proposal_id: int) -> None:
    """Make this person's support actions in this transaction run one at a time, so that the
    per-person limits (maximum, minimum) are checked on what is really there.

    PostgreSQL: lock the person's row. SQLite: start with a write, which takes the database's
    single write lock at once (a read first would run outside the transaction in pysqlite's
    implicit-transaction mode and could act on a stale count)."""
    dialect = (await db.connection()).dialect.name
    if dialect == "sqlite":
        if holds_write_lock(db):
            return  # begun with BEGIN IMMEDIATE (node.db.writes): the lock is held already
        await db.execute(update(Proposal).where(Proposal.id == proposal_id)
                         .values(support_count=Proposal.support_count))
    else:
        _, person_id, table = _person(person)
        await db.execute(select(table.id).where(table.id == person_id).with_for_update())


async def _checked(db, proposal_id: int, active_phase_id: int | None) -> tuple[Proposal, dict]:
    proposal = await db.scalar(select(Proposal).where(Proposal.id == proposal_id)
                               .execution_options(populate_existing=True))
    if proposal is None:
        raise refuse(N_("This proposal does not exist."), 404)
    component = await db.get(Component, proposal.component_id)
    settings = settings_of(component)
    if proposal.state == "withdrawn":
        raise refuse(N_("This proposal was withdrawn by its author: its supports are frozen."), 409)
    if proposal.state == "rejected":
        raise refuse(N_("This proposal was rejected: its supports are frozen."), 409)
    if not settings["supports_enabled"]:
        raise refuse(N_("This component does not take supports."), 403)
    if settings["supports_blocked"]:
        raise refuse(N_("Supports are blocked at the moment: nobody can add or remove one."), 403)
    if not supports_open(settings, active_phase_id):
        raise refuse(N_("Supports are not open in the current phase of this process."), 403)
    return proposal, settings


async def given_supports(db, person, component_id: int) -> int:
    column, person_id, _ = _person(person)
    return await db.scalar(select(func.count()).select_from(Support).where(
        column == person_id, Support.component_id == component_id))


async def _set_counted(db, person, component_id: int, counted: bool) -> None:
    """Turn all of a person's supports in a component into (un)counted ones, counters too."""
    column, person_id, _ = _person(person)
    ids = list((await db.scalars(select(Support.proposal_id).where(
        column == person_id, Support.component_id == component_id,
        Support.counted.is_(not counted)))).all())
    if not ids:
        return
    await db.execute(update(Support).where(column == person_id, Support.component_id == component_id)
                     .values(counted=counted).execution_options(synchronize_session=False))
    step = 1 if counted else -1
    # Sorted ids: concurrent transactions touching the same proposals lock them in one order.
    await db.execute(update(Proposal).where(Proposal.id.in_(sorted(ids)))
                     .values(support_count=Proposal.support_count + step)
                     .execution_options(synchronize_session=False))


async def add_support(db, proposal_id: int, user, active_phase_id: int | None) -> Proposal:
    """``user``: a local User or a RemoteParticipant (node.cohosting)."""
    await _serialise(db, user, proposal_id)
    proposal, settings = await _checked(db, proposal_id, active_phase_id)
    column, person_id, _ = _person(user)
    if await db.scalar(select(Support.id).where(Support.proposal_id == proposal_id, column == person_id)):
        raise refuse(ALREADY, 409)
    given = await given_supports(db, user, proposal.component_id)
    maximum, minimum = settings["max_supports_per_user"], settings["minimum_supports_per_user"]
    if maximum and given >= maximum:
        raise refuse((N_("You have given all your %(n)s supports in this component. Remove one of "
                         "them to support this proposal."), {"n": maximum}), 409)
    # Below the minimum a support is kept but not counted; the one that reaches it counts them all.
    reaches_minimum = bool(minimum) and given + 1 == minimum
    counted = not minimum or given + 1 > minimum
    db.add(Support(proposal_id=proposal_id, component_id=proposal.component_id, counted=counted,
                   **{column.key: person_id}))
    try:
        await db.flush()
    except IntegrityError:
        # A concurrent request of the same person got there first; the constraint decided.
        raise refuse(ALREADY, 409) from None
    if reaches_minimum:
        await _set_counted(db, user, proposal.component_id, True)
    elif counted:
        await db.execute(update(Proposal).where(Proposal.id == proposal_id)
                         .values(support_count=Proposal.support_count + 1)
                         .execution_options(synchronize_session=False))
    return proposal


async def remove_support(db, proposal_id: int, user, active_phase_id: int | None) -> Proposal:
    await _serialise(db, user, proposal_id)
    proposal, settings = await _checked(db, proposal_id, active_phase_id)
    column, person_id, _ = _person(user)
    support = await db.scalar(select(Support).where(Support.proposal_id == proposal_id, column == person_id))
    if support is None:
        raise refuse(N_("You do not support this proposal."), 409)
    minimum = settings["minimum_supports_per_user"]
    given = await given_supports(db, user, proposal.component_id)
    was_counted = support.counted
    await db.execute(delete(Support).where(Support.id == support.id))
    if was_counted:
        await db.execute(update(Proposal).where(Proposal.id == proposal_id)
                         .values(support_count=Proposal.support_count - 1)
                         .execution_options(synchronize_session=False))
    if minimum and given == minimum:
        await _set_counted(db, user, proposal.component_id, False)
    return proposal


async def supported_among(db, user_id: int, proposal_ids: list[int]) -> set[int]:
    if not proposal_ids:
        return set()
    return set((await db.scalars(select(Support.proposal_id).where(
        Support.user_id == user_id, Support.proposal_id.in_(proposal_ids)))).all())


async def recount_supports(db, component) -> None:
    """Rebuild `counted` flags and `support_count` from the Support rows of a component."""
    minimum = settings_of(component)["minimum_supports_per_user"]
    others = aliased(Support)
    given = (select(func.count()).select_from(others)
             .where(or_(others.user_id == Support.user_id, others.participant_id == Support.participant_id),
                    others.component_id == component.id)
             .scalar_subquery())
    await db.execute(update(Support).where(Support.component_id == component.id)
                     .values(counted=given >= minimum).execution_options(synchronize_session=False))
    counted = (select(func.count()).select_from(Support)
               .where(and_(Support.proposal_id == Proposal.id, Support.counted.is_(True)))
               .scalar_subquery())
    await db.execute(update(Proposal).where(Proposal.component_id == component.id)
                     .values(support_count=counted).execution_options(synchronize_session=False))
