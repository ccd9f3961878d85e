"""decide(): may this person take this action in this component now?"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from node.components.registry import kinds
from node.db.base import utcnow
from node.permissions.rules import Decision, evaluate, requirement_of
from node.verification.models import Authorisation
from node.verification.service import HANDLER_LABELS


def component_actions(component) -> tuple[tuple[str, str], ...]:
    """(action, label msgid) pairs the component's kind declares."""
    kind = kinds().get(component.kind)
    return kind.actions if kind else ()


def action_label(component, action: str) -> str:
    return dict(component_actions(component)).get(action, action)


async def authorisations_of(db, user_id: int) -> list[Authorisation]:
    """Every confirmed, unrevoked authorisation of the account, expired ones included (they
    explain a refusal: "expired on …").  One query, whatever the number of actions asked about."""
    return list((await db.scalars(select(Authorisation).where(
        Authorisation.user_id == user_id, Authorisation.revoked_at.is_(None),
        Authorisation.confirmed_at.is_not(None)).order_by(Authorisation.created_at, Authorisation.id))).all())


async def decide(db, user, component, action: str, now: datetime | None = None, *,
                 authorisations: list[Authorisation] | None = None) -> Decision:
    """Whether `user` (None: anonymous) may take `action` in `component` at `now`.

    Costs no query when the action has no requirement or the visitor is anonymous, and one
    otherwise unless `authorisations` (from `authorisations_of`) are given."""
    requirement = requirement_of(component, action)
    if user is not None and requirement is not None and authorisations is None:
        authorisations = await authorisations_of(db, user.id)
    return evaluate(requirement, user, authorisations or [], now or utcnow(), action_label(component, action),
                    HANDLER_LABELS)
